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


# Lines against which IPython's prefilter does something, and lines it leaves alone.
PREFILTER_CHECK = r"""
from IPython.core.autocall import IPyAutocall
_pc_t = __import__('_parallel_cell_runtime').transform
class _PcAutocall(IPyAutocall):
    def __call__(self, *args):
        return args
pc_autocalled = _PcAutocall()
pc_macro_src = 1
get_ipython().run_line_magic('macro', 'pc_macro pc_macro_src')
def pc_func(*a):
    return a
_pc_lines = ['None', 'x = 1', '  y=2', 'pwd', 'pwd = 3', 'pwd.x', 'ls -l', 'env', 'pc_macro',
             'pc_autocalled 1', 'pc_func 1 2', 'pc_func(1)', 'print("a")', '', '   ', 'a\r',
             'x  # PYTHON-MODE', 'time x', 'who', 'f"{1}"', 'env.x = 1', '%%%', '3 + 4',
             'timeit', 'cd /tmp', 'pc_func', '*a, = [1]', 'del x']
def _pc_compare():
    ip, mgr = get_ipython(), get_ipython().prefilter_manager
    found = []
    for line in _pc_lines:
        with ip.builtin_trap:
            expected = mgr.prefilter_lines(line)
        got = _pc_t._prefiltered(ip, line)
        if got != expected or ip._last_input_line != line.rstrip('\n'):
            found.append((line, got, expected))
    return found
"""


def test_the_prefilter_s_shortcut_gives_what_ipython_gives(kernel):
    """The shortcut for a one-line cell (transform._prefiltered) against IPython's own
    prefilter, with automagic on and off, autocall on and off, an Emacs checker enabled,
    and a name shadowing a magic."""
    kernel.ok(PREFILTER_CHECK)
    settings = [
        "%automagic on",
        "%automagic off",
        "%autocall 1",
        "%autocall 2",
        "%autocall 0\n%automagic on\nget_ipython().prefilter_manager.checkers[0].enabled = True",
        "who = 'shadows the magic'",
    ]
    try:
        for setting in settings:
            kernel.ok(setting)
            assert kernel.evaluate("_pc_compare()") == "[]", setting
    finally:
        kernel.ok("%autocall 0\n%automagic on\ndel who")
        kernel.ok("get_ipython().prefilter_manager.checkers[0].enabled = False")
