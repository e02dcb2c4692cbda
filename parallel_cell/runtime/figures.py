"""pyplot's current figure, per job: a job's figures are its own.

pyplot keeps every figure it made, and which one is current, in one class attribute:
``matplotlib._pylab_helpers.Gcf.figs`` (number -> manager, the current one last). A job
and the foreground drawing at once would draw on each other's figures, close them, and
the inline backend's ``flush_figures`` would show the job's figures in the foreground.
``Gcf.figs`` becomes a ``FigureRegistry``, which hands every operation to the calling
thread's owner's own dict: the job whose code runs there (``threads.current_job``), or
the foreground (every other thread). When a job ends, what it left open (non-inline
backends) moves to the foreground (``job_ended``).

matplotlib's mathtext parser is one shared object with per-parse state, parsed from
outside ``Figure.draw``'s lock by ``tight_layout`` and ``bbox_inches='tight'``: two
threads garble or fail each other's parses, and can crash the process. Its ``parse`` is
serialized with matplotlib's own render lock.

matplotlib is never imported here: the patches are made when a job starts (``install``)
if the modules are loaded, or right after they are (an import hook).
"""

import sys
import threading
import weakref
from collections.abc import MutableMapping

from .config import log
from .threads import current_job

_MARK = "_parallel_cell_figures"  # on this module's patches, any runtime version's
_GCF = "matplotlib._pylab_helpers"
_MATHTEXT = "matplotlib.mathtext"
FOREGROUND = None  # the foreground's key among the owners; a job's is its id


class FigureRegistry(MutableMapping):
    """``Gcf.figs``: the calling thread's owner's figures (an ``OrderedDict``).

    Its state is what a newer runtime takes over (``_patch_gcf``): ``_pc_owners`` (key
    -> dict), ``_pc_ended`` (jobs whose figures moved), ``_pc_moved`` (dicts of ended
    jobs, merged by the foreground's next access: only the foreground's own threads
    change its dict, never a job's thread while the foreground iterates it).
    """

    _parallel_cell_figures = True

    def __init__(self, owners, ended, moved):
        self._pc_owners = owners
        self._pc_ended = ended
        self._pc_moved = moved
        self._pc_new = type(owners[FOREGROUND])  # what matplotlib made: OrderedDict

    def _own(self):
        job = current_job()
        key = FOREGROUND if job is None or job in self._pc_ended else job.job_id
        figs = self._pc_owners.get(key)
        if figs is None:
            figs = self._pc_owners.setdefault(key, self._pc_new())
        if key is FOREGROUND and self._pc_moved:
            _adopt(figs, self._pc_moved)
        return figs

    # What matplotlib's Gcf uses, and every other method of an OrderedDict.
    def __getitem__(self, num):
        return self._own()[num]

    def __setitem__(self, num, manager):
        self._own()[num] = manager

    def __delitem__(self, num):
        del self._own()[num]

    def __contains__(self, num):
        return num in self._own()

    def __iter__(self):
        return iter(self._own())

    def __reversed__(self):
        return reversed(self._own())

    def __len__(self):
        return len(self._own())

    def __bool__(self):
        return bool(self._own())

    def __eq__(self, other):
        return self._own() == other

    __hash__ = None

    def __repr__(self):
        return f"FigureRegistry({self._own()!r})"

    def get(self, num, default=None):
        return self._own().get(num, default)

    def pop(self, num, *default):
        return self._own().pop(num, *default)

    def popitem(self, *args, **kwargs):
        return self._own().popitem(*args, **kwargs)

    def setdefault(self, num, default=None):
        return self._own().setdefault(num, default)

    def move_to_end(self, num, last=True):
        self._own().move_to_end(num, last=last)

    def keys(self):
        return self._own().keys()

    def values(self):
        return self._own().values()

    def items(self):
        return self._own().items()

    def clear(self):
        self._own().clear()

    def update(self, *args, **kwargs):
        self._own().update(*args, **kwargs)

    def copy(self):
        return self._own().copy()

    def __getattr__(self, name):
        if name.startswith("_"):  # no dunder or state of ours is delegated
            raise AttributeError(name)
        return getattr(self._own(), name)


def _adopt(figs, moved):
    """Merge ended jobs' figures into the foreground's ``figs``, before its own: its
    current figure stays current. A number it already uses is renumbered."""
    while moved:
        try:
            left = moved.pop(0)
        except IndexError:  # another foreground thread took it
            return
        for num, manager in reversed(list(left.items())):
            if num in figs:
                num = max((n for n in figs if isinstance(n, int)), default=0) + 1
                _renumber(manager, num)
            figs[num] = manager
            figs.move_to_end(num, last=False)


def _renumber(manager, num):
    manager.num = num
    figure = getattr(getattr(manager, "canvas", None), "figure", None)
    if figure is None:
        return
    if isinstance(getattr(type(figure), "number", None), property):
        figure._number = num  # matplotlib >= 3.10: setting ``number`` is deprecated
    else:
        figure.number = num


def _registry():
    gcf = getattr(sys.modules.get(_GCF), "Gcf", None)
    figs = getattr(gcf, "figs", None)
    return figs if getattr(type(figs), _MARK, False) else None


def job_ended(job):
    """``job``'s code ended (its figures were shown, inline): what it left open (other
    backends) goes to the foreground, and its own registry goes. Threads it started
    that still run draw for the foreground from now on. Idempotent."""
    registry = _registry()
    if registry is None:
        return
    registry._pc_ended.add(job)
    figs = registry._pc_owners.pop(job.job_id, None)
    if figs:
        registry._pc_moved.append(figs)


def _patch_gcf(module):
    gcf = getattr(module, "Gcf", None)
    current = getattr(gcf, "figs", None)
    if current is None or type(current) is FigureRegistry:  # not pyplot's, or ours
        return
    if getattr(type(current), _MARK, False):  # an older runtime's: take its state over
        state = (current._pc_owners, current._pc_ended, current._pc_moved)
    else:  # the figures open now are the foreground's
        state = ({FOREGROUND: current}, weakref.WeakSet(), [])
    gcf.figs = FigureRegistry(*state)


# -- mathtext ----------------------------------------------------------------------

_OWN_LOCK = threading.RLock()


def _render_lock():
    """matplotlib's own lock around ``Figure.draw`` (3.8+), which guards the same
    shared caches; reentrant, so a parse inside a draw takes it again."""
    figure = getattr(sys.modules.get("matplotlib.figure"), "Figure", None)
    lock = getattr(figure, "_render_lock", None)
    return _OWN_LOCK if lock is None else lock


def _serialized(original):
    def parse(self, *args, **kwargs):
        with _render_lock():
            return original(self, *args, **kwargs)

    parse._parallel_cell_original = original
    parse._parallel_cell_figures = _serialized
    parse.__doc__ = original.__doc__
    return parse


def _patch_mathtext(module):
    cls = getattr(module, "MathTextParser", None)
    current = getattr(cls, "__dict__", {}).get("parse")
    if current is None or getattr(current, _MARK, None) is _serialized:
        return
    cls.parse = _serialized(getattr(current, "_parallel_cell_original", current))


_PATCHES = {_GCF: _patch_gcf, _MATHTEXT: _patch_mathtext}


def _apply(patch, module):
    try:
        patch(module)
    except Exception:  # matplotlib as it was is better than no matplotlib
        log.exception("parallel-cell: could not patch %s", module.__name__)


# -- the import hook ----------------------------------------------------------------


class _Finder:
    """On ``sys.meta_path``: the modules in ``_PATCHES`` are loaded as usual, then
    patched before anyone else gets them."""

    _parallel_cell_figures = True

    def find_spec(self, fullname, path=None, target=None):
        patch = _PATCHES.get(fullname)
        if patch is None:
            return None
        for finder in list(sys.meta_path):
            find = getattr(finder, "find_spec", None)
            if find is None or getattr(finder, _MARK, False):
                continue
            spec = find(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if hasattr(spec.loader, "exec_module"):
            spec.loader = _PatchingLoader(spec.loader, patch)
        return spec


class _PatchingLoader:
    """The module's own loader, then the patch; everything else is the loader's."""

    def __init__(self, loader, patch):
        self._pc_loader = loader
        self._pc_patch = patch

    def create_module(self, spec):
        create = getattr(self._pc_loader, "create_module", None)
        return None if create is None else create(spec)

    def exec_module(self, module):
        self._pc_loader.exec_module(module)
        _apply(self._pc_patch, module)

    def __getattr__(self, name):
        if name.startswith("_pc_"):
            raise AttributeError(name)
        return getattr(self._pc_loader, name)


def install():
    """Per-job figures and serialized mathtext, now for what is loaded and on import
    for the rest (idempotent; a newer runtime's install replaces an older one's)."""
    hooks = [f for f in sys.meta_path if getattr(f, _MARK, False)]
    if len(hooks) != 1 or type(hooks[0]) is not _Finder:  # none, or an older runtime's
        others = [f for f in sys.meta_path if not getattr(f, _MARK, False)]
        sys.meta_path[:] = [_Finder(), *others]
    for name, patch in _PATCHES.items():
        module = sys.modules.get(name)
        if module is not None:
            _apply(patch, module)
