"""A job's cell is transformed as IPython would, now, although part of the transform is
cached by text (runtime/transform.py)."""


def _result(comm, code):
    finished = comm.run(code)
    assert finished["state"] == "done", finished
    return comm.outputs(finished["job_id"])[-1]["data"]["text/plain"]


def test_a_one_line_cell_is_read_against_the_namespace_of_now(kernel, comm):
    kernel.ok("%automagic on")
    cwd = _result(comm, "pwd")  # automagic: %pwd
    assert cwd.startswith("'/")
    kernel.ok("pwd = 'a variable now'")
    try:
        assert _result(comm, "pwd") == "'a variable now'"
    finally:
        kernel.ok("del pwd")
    assert _result(comm, "pwd") == cwd


def test_a_transformer_added_later_applies_and_is_run_for_every_job(kernel, comm):
    finished = comm.run("TRANSFORM_ME")
    assert finished["state"] == "error"
    assert finished["error"]["ename"] == "NameError"
    kernel.ok(
        "transform_calls = []\n"
        "def replace_mark(lines):\n"
        "    transform_calls.append(1)\n"
        "    return [line.replace('TRANSFORM_ME', 'len(transform_calls)') for line in lines]\n"
        "get_ipython().input_transformers_cleanup.append(replace_mark)"
    )
    try:
        assert _result(comm, "TRANSFORM_ME") == "1"
        assert _result(comm, "TRANSFORM_ME") == "2"  # a user's transformer: never cached
    finally:
        kernel.ok("get_ipython().input_transformers_cleanup.remove(replace_mark)")
    finished = comm.run("TRANSFORM_ME")
    assert finished["error"]["ename"] == "NameError"


def test_magics_and_shell_commands_again_from_the_cache(kernel, comm):
    code = "%env PC_CACHED=1\nimport os\nprint(os.environ['PC_CACHED'])\n!echo shell"
    for _ in range(2):
        finished = comm.run(code, timeout=20)
        assert finished["state"] == "done", finished
        assert comm.text(finished["job_id"]).startswith("env: PC_CACHED=1\n1\n")
