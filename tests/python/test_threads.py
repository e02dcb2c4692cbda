"""Threads a job starts belong to it while they run; a pool's threads serve whoever
submits the work."""

import time


def _threads_messages(comm, job):
    return [m["running"] for m in comm.of_job(job) if m["type"] == "threads"]


def _wait_threads(comm, job, running, timeout=30):
    return comm.wait_for(
        lambda m: m["type"] == "threads" and m["job_id"] == job and m["running"] == running,
        timeout=timeout,
    )


def test_a_thread_that_outlives_its_jobs_code_still_writes_into_the_job(kernel, comm, gate):
    # The thread waits for the foreground cell below to open the gate, then prints while
    # that cell waits for it: it outlives the job's code, and prints during a foreground
    # cell, for certain.
    job = comm.submit(
        "import threading, time\ntail_done = threading.Event()\ndef tail():\n"
        + gate.code("    ")
        + "    for k in range(3):\n        time.sleep(0.05)\n        print('tail', k)\n"
        "    tail_done.set()\n"
        "threading.Thread(target=tail, name='tail-thread').start()\nprint('code ended')"
    )
    finished = comm.wait_type("finished", job)
    assert finished["state"] == "done"
    _wait_threads(comm, job, 1)
    fg = kernel.execute(
        f"open({str(gate.path)!r}, 'w').close()\nprint('fg')\nprint(tail_done.wait(30))"
    )
    assert fg.stdout == "fg\nTrue\n"
    _wait_threads(comm, job, 0)
    assert comm.text(job) == "code ended\ntail 0\ntail 1\ntail 2\n"
    assert "tail" not in fg.stdout
    kinds = [m["type"] for m in comm.of_job(job)]
    assert kinds.index("finished") < kinds.index("threads")
    assert _threads_messages(comm, job) == [1, 0]
    # the page that comes back learns it from the list, and the log replays it all
    info = comm.list_jobs()[job]
    assert info["threads"] == 0 and info["next_seq"] == len(comm.outputs(job))


def test_a_job_without_lingering_threads_says_nothing_about_threads(kernel, comm):
    job = comm.submit(
        "import threading\nt = threading.Thread(target=print, args=('joined',))\n"
        "t.start()\nt.join()"
    )
    comm.wait_type("finished", job)
    comm.request({"type": "list"}, "jobs")  # everything the kernel sent before is in
    assert _threads_messages(comm, job) == []
    assert comm.text(job) == "joined\n"


def test_a_killed_jobs_sleeping_thread_ends_with_it(kernel, comm):
    job = comm.submit(
        "import threading, time\ndef beat():\n    while True:\n        time.sleep(0.05)\n"
        "threading.Thread(target=beat, name='beat-thread').start()\ntime.sleep(100)"
    )
    comm.wait_type("started", job)
    alive = "any(t.name == 'beat-thread' for t in __import__('threading').enumerate())"
    kernel.wait_true(alive)  # the thread is up before the kill
    comm.kill(job)
    assert comm.wait_type("finished", job)["state"] == "killed"
    deadline = time.monotonic() + 20
    while kernel.evaluate(alive) == "True" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert kernel.evaluate(alive) == "False"


def test_a_pool_thread_serves_whoever_submits(kernel, comm):
    job = comm.submit(
        "from concurrent.futures import ThreadPoolExecutor\npool = ThreadPoolExecutor(2)\n"
        "print(pool.submit(lambda: print('work of the job') or 7).result())"
    )
    assert comm.wait_type("finished", job)["state"] == "done"
    comm.request({"type": "list"}, "jobs")
    assert comm.text(job) == "work of the job\n7\n"
    assert _threads_messages(comm, job) == []  # a pool's idle threads are nobody's
    fg = kernel.execute("print(pool.submit(lambda: print('work of the foreground') or 8).result())")
    assert "work of the foreground" not in comm.text(job)
    assert fg.stdout.endswith("8\n")


def test_killing_a_job_stops_its_work_on_a_pool_but_not_the_pool(kernel, comm):
    kernel.ok(
        "from concurrent.futures import ThreadPoolExecutor\nshared_pool = ThreadPoolExecutor(1)"
    )
    job = comm.submit("import time\nfuture = shared_pool.submit(time.sleep, 100)\nfuture.result()")
    comm.wait_type("started", job)
    kernel.wait_true("'future' in globals() and future.running()")  # the work is on the pool
    comm.kill(job)
    assert comm.wait_type("finished", job)["state"] == "killed"
    assert kernel.evaluate("type(future.exception(timeout=30)).__name__") == "'JobKilled'"
    # the same pool thread then sleeps for the foreground, unkilled
    fg = kernel.execute(
        "import time\nt0 = time.monotonic()\n"
        "print(shared_pool.submit(lambda: time.sleep(0.3) or 'slept').result(), "
        "time.monotonic() - t0 >= 0.3)"
    )
    assert fg.stdout == "slept True\n"


def test_a_librarys_process_wide_helper_thread_is_nobodys(kernel, comm):
    # tqdm starts its monitor thread from whichever code makes the first bar; it then
    # serves every bar of the process and must not keep a job open, or die with it.
    job = comm.submit(
        "import threading, time\nclass TMonitor(threading.Thread):\n"
        "    def run(self):\n        while not self.stop:\n            time.sleep(0.02)\n"
        "TMonitor.__module__ = 'tqdm._monitor'\nmonitor = TMonitor(daemon=True)\n"
        "monitor.stop = False\nmonitor.start()\ntime.sleep(100)"
    )
    comm.wait_type("started", job)
    kernel.wait_true("'monitor' in globals() and monitor.is_alive()")  # up before the kill
    comm.kill(job)
    assert comm.wait_type("finished", job)["state"] == "killed"
    time.sleep(0.3)
    assert kernel.evaluate("monitor.is_alive()") == "True"
    comm.request({"type": "list"}, "jobs")  # everything the kernel sent before is in
    assert _threads_messages(comm, job) == []
    kernel.ok("monitor.stop = True\nmonitor.join(5)")
