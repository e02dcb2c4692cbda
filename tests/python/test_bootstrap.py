"""Bootstrap: idempotent, versioned, leaves the user namespace alone."""

import re
import subprocess
import sys

from parallel_cell._bootstrap import (
    MODULES,
    RUNTIME_DIR,
    WORKER_MODULES,
    bootstrap_code,
    load_runtime,
    runtime_sources,
    runtime_version,
    worker_sources,
)

NS_KEYS = "sorted(get_ipython().user_ns)"
TARGETS = "sorted(t for t in get_ipython().kernel.comm_manager.targets if 'parallel' in t)"
MODULE_ID = "id(__import__('sys').modules['_parallel_cell_runtime'])"
RUNTIME_CLASS = "id(__import__('sys').modules['_parallel_cell_runtime'].Runtime)"
# The runtime classes whose foreground watch IPython calls before each cell.
PRE_RUN_CELL = (
    "[id(type(cb.__self__)) for cb in get_ipython().events.callbacks['pre_run_cell'] "
    "if getattr(cb, '__name__', '') == 'on_pre_run_cell']"
)


def test_bootstrap_twice_is_idempotent_and_leaves_no_names(fresh_kernel):
    k = fresh_kernel
    before = k.evaluate(NS_KEYS)
    k.bootstrap()
    first_module = k.evaluate(MODULE_ID)
    assert k.evaluate(TARGETS) == "['parallel_cell.v2']"
    k.bootstrap()
    assert k.evaluate(MODULE_ID) == first_module
    assert k.evaluate(TARGETS) == "['parallel_cell.v2']"
    assert k.evaluate(NS_KEYS) == before
    assert k.evaluate(PRE_RUN_CELL) == f"[{k.evaluate(RUNTIME_CLASS)}]"  # registered once
    # the streams are wrapped once, not once per bootstrap
    assert k.evaluate("type(__import__('sys').stdout._pc_target).__name__") == "'OutStream'"
    c = k.open_comm()
    assert c.wait_type("hello")["runtime"] == runtime_version()
    assert c.run("print('hi')")["state"] == "done"
    assert c.text(c.messages[-1]["job_id"]) == "hi\n"


def test_bootstrap_fills_inspects_module_cache_while_the_kernel_is_idle(fresh_kernel):
    # A job's first traceback would otherwise resolve every module's path, each system
    # call waiting for the GIL while the foreground computes (3.3 s instead of 0.5 s).
    k = fresh_kernel
    count = "len(__import__('inspect').modulesbyfile)"
    assert k.evaluate(count) == "0"
    k.bootstrap()
    assert int(k.evaluate(count)) > 100


LOADED_VERSION = "__import__('sys').modules['_parallel_cell_runtime'].VERSION"


def bootstrap_over(k, loaded):
    """Bootstrap a kernel whose runtime says it is ``loaded``; whether it was replaced."""
    k.bootstrap()
    k.ok(f"import sys; sys.modules['_parallel_cell_runtime'].VERSION = {loaded!r}")
    old = k.evaluate(MODULE_ID)
    k.bootstrap()
    return k.evaluate(MODULE_ID) != old


def test_newer_version_replaces_older(fresh_kernel):
    k = fresh_kernel
    assert bootstrap_over(k, "0.0.1+0123456789ab")
    assert k.evaluate(LOADED_VERSION) == repr(runtime_version())
    assert k.evaluate("type(__import__('sys').stdout._pc_target).__name__") == "'OutStream'"
    c = k.open_comm()
    c.wait_type("hello")
    assert c.run("print('after upgrade')")["state"] == "done"
    # The older runtime no longer hears the foreground's cells: one callback, the new one's.
    assert k.evaluate(PRE_RUN_CELL) == f"[{k.evaluate(RUNTIME_CLASS)}]"


def test_edited_sources_of_the_same_release_replace_the_runtime(fresh_kernel):
    # Nobody has to remember to bump a number: other sources are another identity.
    release = runtime_version().split("+")[0]
    assert bootstrap_over(fresh_kernel, f"{release}+000000000000")
    assert fresh_kernel.evaluate(LOADED_VERSION) == repr(runtime_version())


def test_a_newer_release_already_loaded_is_kept(fresh_kernel):
    # An older page (a second JupyterLab on the same kernel) does not downgrade it.
    assert not bootstrap_over(fresh_kernel, "99.0.0+0123456789ab")
    assert fresh_kernel.evaluate(LOADED_VERSION) == "'99.0.0+0123456789ab'"


def test_identity_is_the_package_version_and_a_digest_of_every_shipped_source():
    from parallel_cell import __version__

    sources = runtime_sources()
    identity = runtime_version(sources)
    assert re.fullmatch(re.escape(__version__) + r"\+[0-9a-f]{12}", identity)
    assert runtime_version(dict(sources)) == identity
    edited = {**sources, "kill": sources["kill"] + "\n# an edit\n"}
    assert runtime_version(edited) != identity
    # The worker's own modules count too (they travel to Dask workers).
    worker = worker_sources(sources)
    edited_worker = {**worker, "worker": worker["worker"] + "\n# an edit\n"}
    assert runtime_version(sources, edited_worker) != identity


def test_kernel_needs_nothing_of_ours_installed(fresh_kernel):
    k = fresh_kernel
    # The project venv may have the package installed (make build); hide it.
    k.ok("import sys; sys.modules['parallel_cell'] = None")
    assert k.execute("import parallel_cell").reply["ename"] == "ModuleNotFoundError"
    k.bootstrap()
    c = k.open_comm()
    c.wait_type("hello")
    assert c.run("print('ok')")["state"] == "done"


def test_bootstrap_without_ipython_says_so():
    # On stdin: the code is longer than one command-line argument may be (128 KiB).
    proc = subprocess.run(
        [sys.executable, "-"], input=bootstrap_code(), capture_output=True, text=True, timeout=60
    )
    assert proc.returncode != 0
    assert "parallel-cell needs an IPython kernel" in proc.stderr


def test_runtime_loads_without_a_kernel():
    runtime = load_runtime(register=False)
    assert runtime.VERSION == runtime.protocol.VERSION == runtime_version(runtime_sources())
    assert runtime.COMM_TARGET == "parallel_cell.v2"
    assert issubclass(runtime.JobKilled, BaseException)
    assert not issubclass(runtime.JobKilled, Exception)


def test_runtime_is_a_package_of_small_modules_all_sent():
    # The worker side is not run in the kernel: it travels as source to Dask workers
    # (with the modules it shares with the kernel, which are in both lists).
    on_disk = sorted(p.stem for p in RUNTIME_DIR.glob("*.py"))
    assert sorted(set(MODULES + WORKER_MODULES)) == on_disk and MODULES[-1] == "__init__"
    for name, source in runtime_sources().items():
        assert len(source.splitlines()) <= 400, name  # STYLE: files under ~400 lines
    for name in WORKER_MODULES:
        assert len((RUNTIME_DIR / f"{name}.py").read_text().splitlines()) <= 400, name
    runtime = load_runtime(register=False)
    assert sys.modules["_parallel_cell_runtime"] is runtime
    assert list(runtime.WORKER_SOURCES) == list(WORKER_MODULES)  # the order they build in
    for name in MODULES[:-1]:
        module = sys.modules[f"_parallel_cell_runtime.{name}"]
        assert module.__file__ == f"<parallel_cell.runtime/{name}.py>"
        assert getattr(runtime, name) is module


def test_bootstrap_code_is_a_fixed_line_with_base64_data():
    # Nothing of the runtime's text (nor anything a user sends) is pasted into source:
    # the one line executed holds only base64 literals.
    import re

    code = bootstrap_code()
    assert re.fullmatch(
        r'exec\(__import__\("base64"\)\.b64decode\("[A-Za-z0-9+/=]+"\)\.decode\("utf-8"\), '
        r'\{"__name__": "_parallel_cell_bootstrap", "PAYLOAD": "[A-Za-z0-9+/=]+"\}\)\n',
        code,
    )
