"""Child processes a job starts: their output reaches the job, live and in order."""

import time

SHELL = "['sh', '-c', 'echo out1; echo err1 >&2; echo out2']"


def _run(comm, code):
    job = comm.submit(code)
    finished = comm.wait_type("finished", job, timeout=30)
    assert finished["state"] == "done", finished
    return job


def test_subprocess_run_output_is_the_jobs_in_order(kernel, comm):
    job = _run(
        comm,
        f"import subprocess\nprint('before')\nr = subprocess.run({SHELL})\n"
        "print('after', r.returncode, r.stdout)",
    )
    assert comm.text(job) == "before\nout1\nout2\nafter 0 None\n"
    assert comm.text(job, "stderr") == "err1\n"


def test_a_childs_output_arrives_live(kernel, comm, gate):
    # The child waits for the gate after its first line: "first" that arrives before the
    # gate opens came while the child still ran.
    child = f"echo first; while [ ! -e {gate.path} ]; do sleep 0.01; done; echo second"
    job = comm.submit(f"import subprocess\nsubprocess.run(['sh', '-c', {child!r}])")
    first = comm.wait_for(
        lambda m: m["type"] == "output" and m["job_id"] == job and "first" in str(m)
    )
    assert not [m for m in comm.of_job(job) if m["type"] == "finished"]
    assert "second" not in comm.text(job)
    gate.open()
    comm.wait_type("finished", job)
    assert first and comm.text(job) == "first\nsecond\n"


def test_os_system_output_and_status(kernel, comm):
    job = _run(comm, "import os\nstatus = os.system('echo from the shell; exit 3')\nprint(status)")
    assert comm.text(job) == "from the shell\n768\n"
    assert kernel.evaluate("status") == "768"


def test_what_a_job_captures_itself_stays_captured(kernel, comm):
    job = _run(
        comm,
        f"import subprocess\nr = subprocess.run({SHELL}, capture_output=True, text=True)\n"
        "print(repr(r.stdout), repr(r.stderr))\n"
        "merged = subprocess.run("
        f"{SHELL}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout\n"
        "print(sorted(merged.split()))",
    )
    assert comm.text(job) == "'out1\\nout2\\n' 'err1\\n'\n['err1', 'out1', 'out2']\n"
    assert comm.text(job, "stderr") == ""


def test_stdout_given_as_sys_stdout_and_popen_stderr(kernel, comm):
    job = _run(
        comm,
        "import subprocess, sys, os\n"
        "subprocess.run(['echo', 'via sys.stdout'], stdout=sys.stdout)\n"
        "subprocess.run(['sh', '-c', 'echo merged >&2'], stderr=subprocess.STDOUT)\n"
        "with os.popen('echo piped; echo popen err >&2') as p:\n"
        "    print('read', p.read().strip())",
    )
    assert comm.text(job) == "via sys.stdout\nmerged\nread piped\n"
    assert comm.text(job, "stderr") == "popen err\n"


def test_a_childs_output_never_reaches_the_foreground(kernel, comm):
    job = comm.submit(
        "import subprocess\nfor k in range(5):\n"
        "    subprocess.run(['sh', '-c', f'echo child {k}; sleep 0.1'])"
    )
    comm.wait_type("started", job)
    fg = kernel.execute("import time\nfor i in range(6):\n    print('fg', i)\n    time.sleep(0.1)")
    comm.wait_type("finished", job)
    assert "child" not in fg.stdout + fg.stderr
    assert comm.text(job) == "".join(f"child {k}\n" for k in range(5))


def test_the_foregrounds_children_are_left_alone(kernel, comm):
    fg = kernel.execute("import subprocess\nprint(subprocess.run(['true']).returncode)")
    assert fg.stdout == "0\n"
    assert kernel.evaluate("hasattr(subprocess.Popen(['true']), '_parallel_cell_readers')") in (
        "False",
    )


def test_a_killed_jobs_child_ends_and_its_readers_with_it(kernel, comm):
    job = comm.submit("import subprocess\nsubprocess.run(['sh', '-c', 'echo up; exec sleep 1000'])")
    comm.wait_for(lambda m: m["type"] == "output" and m["job_id"] == job)
    comm.kill(job)
    finished = comm.wait_type("finished", job)
    assert finished["state"] == "killed"
    deadline = time.monotonic() + 20
    readers = "sum('of pid' in t.name for t in __import__('threading').enumerate())"
    while kernel.evaluate(readers) != "0" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert kernel.evaluate(readers) == "0"
    assert comm.text(job) == "up\n"
