"""pyplot from a background job and the foreground at once: each sees its own figures.

pyplot keeps one process-wide "current figure" (``Gcf.figs``); the runtime gives every
job its own (``runtime/figures.py``). Real kernels, real matplotlib, real PNGs.
"""

import ast
import base64
import io

import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("numpy")

ROUNDS = 50
FIGURES = "sys.modules['_parallel_cell_runtime.figures']"

# Defined in the kernel once per test; the job and the foreground call the same code.
HELPERS = r"""
import io, sys, threading
import numpy as np
import matplotlib
from matplotlib.image import imread
import matplotlib.pyplot as plt
from matplotlib._pylab_helpers import Gcf

def _pc_draw(colour, k=0, math=False):
    plt.figure()
    plt.plot([0, 1, 2, 3], [0, 1, 0, 1], color=colour, lw=4)
    if math:  # mathtext and text measuring outside draw (tight_layout, tight bbox)
        plt.title(r'$\alpha_{%d} + \sum_i x^2$' % k)
        plt.xlabel(r'$\frac{a}{b}$ label')
        plt.tight_layout()
    buf = io.BytesIO()
    plt.savefig(buf, format='png', bbox_inches='tight' if math else None)
    plt.close()
    return buf.getvalue()

def _pc_loop(colour, rounds, math, out, errors):
    for i in range(rounds):
        try:
            out.append(_pc_draw(colour, i % 3, math))
        except Exception as e:
            errors.append(repr(e))
            out.append(b'')

def _pc_colours(png):
    if not png:
        return (0, 0)
    rgb = imread(io.BytesIO(png))[..., :3]
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return (int((r - np.maximum(g, b) > 0.4).sum()), int((b - np.maximum(r, g) > 0.4).sum()))
"""


def _colours(png):
    """(red-ish, blue-ish) pixel counts of a PNG, in this process."""
    import numpy as np
    from matplotlib.image import imread

    rgb = imread(io.BytesIO(png))[..., :3]
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return int((r - np.maximum(g, b) > 0.4).sum()), int((b - np.maximum(r, g) > 0.4).sum())


def _images(outputs):
    return [
        base64.b64decode(o["data"]["image/png"])
        for o in outputs
        if "image/png" in o.get("data", {})
    ]


def _iopub_images(result):
    return [
        base64.b64decode(m["content"]["data"]["image/png"])
        for m in result.iopub
        if m["header"]["msg_type"] in ("display_data", "execute_result")
        and "image/png" in m["content"]["data"]
    ]


def _setup(kernel, backend):
    kernel.ok(HELPERS)
    if backend == "inline":
        kernel.ok("%matplotlib inline")
    else:
        kernel.ok("matplotlib.use('Agg')")
    kernel.ok("plt.close('all')")


def _bad_rounds(kernel, math):
    """Rounds where either side's PNG failed, is blank, or shows the other's colour."""
    red = ast.literal_eval(kernel.evaluate("[_pc_colours(p) for p in red_pngs]"))
    blue = ast.literal_eval(kernel.evaluate("[_pc_colours(p) for p in blue_pngs]"))
    bad = [i for i in range(ROUNDS) if red[i][0] < 50 or red[i][1] or blue[i][1] < 50 or blue[i][0]]
    if math:  # garbled text: not the PNG the same drawing gives alone
        for colour in ("red", "blue"):
            same = f"[p == _pc_ref['{colour}', i % 3] for i, p in enumerate({colour}_pngs)]"
            bad += [i for i, ok in enumerate(ast.literal_eval(kernel.evaluate(same))) if not ok]
    return sorted(set(bad))


@pytest.mark.parametrize("math", [False, True], ids=["lines", "mathtext"])
@pytest.mark.parametrize("backend", ["inline", "agg"])
def test_pyplot_in_a_job_and_the_foreground_at_once(kernel, comm, backend, math):
    _setup(kernel, backend)
    kernel.ok(
        "go = threading.Event()\nred_pngs, blue_pngs, red_errors, blue_errors = [], [], [], []\n"
        "_pc_ref = {(c, k): _pc_draw(c, k, True) for c in ('red', 'blue') for k in range(3)}"
    )
    job = comm.submit(f"go.wait(30)\n_pc_loop('red', {ROUNDS}, {math}, red_pngs, red_errors)")
    comm.wait_type("started", job)
    fg = kernel.execute(
        f"go.set()\n_pc_loop('blue', {ROUNDS}, {math}, blue_pngs, blue_errors)", timeout=120
    )
    assert fg.reply["status"] == "ok", fg.reply
    assert comm.wait_type("finished", job, timeout=120)["state"] == "done"
    errors = kernel.evaluate("red_errors + blue_errors")
    bad = _bad_rounds(kernel, math)
    assert (errors, bad) == ("[]", []), f"{len(bad)} of {ROUNDS} rounds mixed, blank or failed"
    # nothing left over: no figure shown by either cell, none open
    assert _images(comm.outputs(job)) == [] and _iopub_images(fg) == []
    assert kernel.evaluate("plt.get_fignums()") == "[]"


RED = "plt.plot([0, 1, 2, 3], [0, 1, 0, 1], color='red', lw=4)"
BLUE = "plt.plot([0, 1, 2, 3], [1, 0, 1, 0], color='blue', lw=4)"


def _only(png, colour):
    red, blue = _colours(png)
    return (red > 50 and not blue) if colour == "red" else (blue > 50 and not red)


def test_a_jobs_figure_is_shown_in_its_own_cell_not_the_foregrounds(kernel, comm):
    _setup(kernel, "inline")
    kernel.ok("drawn, release = threading.Event(), threading.Event()")
    # no plt.show(): the job's figure is open while a foreground cell runs and ends
    job = comm.submit(f"plt.figure()\n{RED}\ndrawn.set()\nrelease.wait(30)")
    fg = kernel.execute(f"drawn.wait(30)\n{BLUE}")
    assert fg.reply["status"] == "ok", fg.reply
    kernel.ok("release.set()")
    assert comm.wait_type("finished", job, timeout=30)["state"] == "done"
    shown_fg, shown_job = _iopub_images(fg), _images(comm.outputs(job))
    assert len(shown_fg) == 1 and _only(shown_fg[0], "blue")
    assert len(shown_job) == 1 and _only(shown_job[0], "red")
    assert kernel.evaluate("plt.get_fignums()") == "[]"


def test_close_all_in_the_foreground_leaves_a_jobs_figure_open(kernel, comm):
    _setup(kernel, "inline")
    kernel.ok("drawn, release = threading.Event(), threading.Event()")
    job = comm.submit(
        f"fig = plt.figure()\n{RED}\ndrawn.set()\nrelease.wait(30)\n"
        "print(plt.get_fignums(), plt.fignum_exists(fig.number), plt.gcf() is fig)"
    )
    assert kernel.ok(
        "drawn.wait(30)\nplt.figure()\nplt.close('all')\nprint(plt.get_fignums())"
    ) == ("[]\n")
    kernel.ok("release.set()")
    assert comm.wait_type("finished", job, timeout=30)["state"] == "done"
    assert comm.text(job) == "[1] True True\n"
    shown = _images(comm.outputs(job))
    assert len(shown) == 1 and _only(shown[0], "red")


def test_a_jobs_figures_are_numbered_from_one(kernel, comm):
    # Numbers are per owner: a job's first figure is 1 even while the foreground has a
    # figure 1 open; each side's plt.figure(1) is its own.
    _setup(kernel, "agg")
    kernel.ok("fg_fig = plt.figure()")
    job = comm.run(
        "print(plt.get_fignums(), plt.figure().number, plt.figure().number, plt.get_fignums())\n"
        "print(plt.figure(1) is not fg_fig)\nplt.close('all')"
    )
    assert job["state"] == "done"
    assert comm.text(job["job_id"]) == "[] 1 2 [1, 2]\nTrue\n"
    assert kernel.evaluate("(plt.get_fignums(), plt.gcf() is fg_fig)") == "([1], True)"


def test_figures_a_job_leaves_open_move_to_the_foreground(kernel, comm):
    _setup(kernel, "agg")
    kernel.ok("fg_fig = plt.figure()")
    job = comm.run(f"job_fig = plt.figure(label='from the job')\n{RED}\nprint(job_fig.number)")
    assert job["state"] == "done" and comm.text(job["job_id"]) == "1\n"
    # renumbered (1 is the foreground's), and the foreground's current figure stays
    assert kernel.evaluate("plt.get_fignums()") == "[1, 2]"
    assert kernel.evaluate("(job_fig.number, plt.gcf() is fg_fig)") == "(2, True)"
    assert kernel.evaluate("plt.figure(2) is job_fig and plt.get_figlabels()") == (
        "['', 'from the job']"
    )
    # the job's own registry is gone: only the foreground's is left
    assert kernel.evaluate("list(Gcf.figs._pc_owners)") == "[None]"
    kernel.ok("plt.close('all')")


def test_installed_on_import_once_and_replaced_by_a_newer_runtime(fresh_kernel):
    k = fresh_kernel
    k.bootstrap()
    c = k.open_comm()
    c.wait_type("hello")
    assert c.run("x = 1")["state"] == "done"  # installs: matplotlib is not imported
    assert k.evaluate("'matplotlib' in __import__('sys').modules") == "False"
    # imported later (here in the foreground): patched by the import hook at once
    k.ok(HELPERS + "matplotlib.use('Agg')\nfg_fig = plt.figure()\nimport inspect")
    layer = (
        "(type(Gcf.figs) is sys.modules['_parallel_cell_runtime.figures'].FigureRegistry, "
        "type(Gcf.figs._pc_owners[None]).__name__, plt.get_fignums(), "
        "sum(hasattr(f, '_parallel_cell_figures') for f in sys.meta_path), "
        "hasattr(matplotlib.mathtext.MathTextParser.parse._parallel_cell_original, "
        "'_parallel_cell_original'))"
    )
    one_layer = "(True, 'OrderedDict', [1], 1, False)"
    assert k.evaluate(layer) == one_layer
    assert "class Gcf" in k.evaluate("inspect.getsource(Gcf)")  # the loader still works
    registry = k.evaluate("id(Gcf.figs)")
    k.ok(f"{FIGURES}.install()\n{FIGURES}.install()")
    assert k.evaluate(layer) == one_layer and k.evaluate("id(Gcf.figs)") == registry
    k.bootstrap()  # the same version: kept
    assert c.run("x = 2")["state"] == "done"
    assert k.evaluate(layer) == one_layer and k.evaluate("id(Gcf.figs)") == registry
    # a newer runtime takes the figures over, with its own registry and hook
    k.ok("sys.modules['_parallel_cell_runtime'].VERSION = '0.0.1'")
    old = k.evaluate(f"id({FIGURES})")
    k.bootstrap()
    assert k.evaluate(f"id({FIGURES})") != old
    c2 = k.open_comm()
    c2.wait_type("hello")
    assert c2.run("print(plt.figure().number)")["state"] == "done"
    assert k.evaluate(layer) == one_layer.replace("[1]", "[1, 2]")
    assert k.evaluate("plt.gcf() is fg_fig") == "True"


# A stand-in pyplot whose import blocks until the test lets it go: a real import, half
# done in one job's thread while another job starts and ends.
SLOW_PYPLOT = """
import builtins
builtins._pc_gate[0].set()
builtins._pc_gate[1].wait(30)
def get_fignums():
    return []
def get_backend():
    return 'agg'
"""


def test_a_job_ends_well_while_another_is_importing_pyplot(fresh_kernel, tmp_path):
    """Seen in a user's try: two cells in the background, one importing pyplot; the
    other failed with "partially initialized module 'matplotlib.pyplot'"."""
    package = tmp_path / "matplotlib"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "pyplot.py").write_text(SLOW_PYPLOT)
    k = fresh_kernel
    k.bootstrap()
    k.ok(
        "import builtins, sys, threading\n"
        "builtins._pc_gate = (threading.Event(), threading.Event())\n"
        f"sys.path.insert(0, {str(tmp_path)!r})"
    )
    assert k.evaluate("'matplotlib' in sys.modules") == "False"
    comm = k.open_comm()
    comm.wait_type("hello")
    importing = comm.submit("import matplotlib.pyplot as plt")
    comm.wait_type("started", importing)
    k.ok("assert builtins._pc_gate[0].wait(10)")  # the import is under way
    other = comm.run("print('the other job ran')")
    try:
        assert other["state"] == "done", other.get("error")
        assert comm.text(other["job_id"]) == "the other job ran\n"
    finally:
        k.ok("builtins._pc_gate[1].set()")
    assert comm.wait_type("finished", importing)["state"] == "done"
