"""Which global names a cell reads and which it binds or deletes (name conflicts).

Module-level code is read from the ``ast`` (IPython's magics are calls there, once
transformed), the bodies of functions, lambdas and classes from ``symtable``. A def's
body counts only when the cell refers to the function (or decorates it): defining it
runs none of it. A wrong answer is worse than none: what cannot be told is said in
``unknown``. Standard library only; nothing here raises."""

import ast
import dis
import functools
import re
import symtable
import threading
import types
import warnings
from typing import NamedTuple, Optional

MAX_CELL = 200_000  # characters; bigger cells are not analysed
# Parsing warns (SyntaxWarning: invalid escape sequence...) as IPython's run does: once.
_FILE = "<parallel-cell names>"
_QUIET = ("ignore", None, Warning, re.compile(re.escape(_FILE)), 0)  # a warnings filter


class CellNames(NamedTuple):
    reads: frozenset
    writes: frozenset
    unknown: Optional[str] = None


_cannot = functools.partial(CellNames, frozenset(), frozenset())  # why, or None: no names
# Line magics that bind no Python name.
_LINE_QUIET = frozenset(
    "matplotlib load_ext reload_ext unload_ext pip conda mamba micromamba uv config who "
    "whos who_ls pwd cd env precision autoreload xmode history pdb logstart logstop logon "
    "logoff logstate job pinfo pinfo2 pdoc pdef psource pfile psearch page pprint lsmagic "
    "magic quickref colors automagic autocall autoawait doctest_mode gui tb killbgscripts "
    "dirs dhist pushd popd bookmark alias unalias ls ll mkdir rmdir rm cp mv cat less more "
    "man clear system sx save notebook".split()
)
# Cell magics whose body is not Python run here (%%job runs it as another job).
_CELL_QUIET = frozenset("html HTML javascript js markdown latex svg writefile file job !".split())
# Script magics: the body runs in a subprocess; --out/--err/--proc name variables.
_SCRIPTS = frozenset("script sh bash perl ruby python python2 python3 pypy".split())
_FORMS = {"run_line_magic": "%", "run_cell_magic": "%%", "system": "!", "getoutput": "!"}
_OPTIONS = {"timeit": ("nrpv", "tcqo"), "prun": ("DlsT", "rq")}  # (flags with a value, without)
# Globals that, read in a body the cell runs, hide what it does to the namespace.
_HAZARDS = frozenset({"exec", "eval", "globals", "get_ipython"})
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_CAPTURES = [getattr(ast, n, 0) for n in "ExceptHandler MatchAs MatchStar MatchMapping".split()]
_NOTHING = (ast.Global, ast.Load, ast.Store, ast.Del, ast.Constant)
_TYPE_ALIAS = getattr(ast, "TypeAlias", None)  # 3.12+
_LAZY_ANNOTATIONS = re.compile(r"^from\s+__future__\s+import\b[^\n]*\bannotations\b", re.M)


def _scan(tree, transform, depth, lazy):
    """Module-level code: reads, writes, defs (name -> decorated: a decorator is handed
    the function), whether it has bodies (symtable's), why it cannot tell."""
    reads, writes, defs, why, scopes = set(), set(), {}, [], False
    stack = [(node, frozenset()) for node in reversed(tree.body)]  # first reason first

    def push(nodes, local):  # local: the names of the comprehensions around
        stack.extend((n, local) for n in nodes if isinstance(n, ast.AST))

    while stack:
        node, local = stack.pop()
        kind = type(node)
        if kind is ast.Name and node.id not in local:
            (reads if type(node.ctx) is ast.Load else writes).add(node.id)
        if kind is ast.Name or kind in _NOTHING:
            continue
        if kind is ast.NamedExpr:
            writes.add(node.target.id)  # binds here, even from a comprehension
            push([node.value], local)
            continue
        elif kind in _COMPREHENSIONS:
            gens = node.generators
            push([gens[0].iter], local)  # evaluated outside the comprehension
            targets = (n.id for g in gens for n in ast.walk(g.target) if type(n) is ast.Name)
            inner = local | frozenset(targets)
            for i, gen in enumerate(gens):
                push([gen.target, gen.iter if i else None, *gen.ifs], inner)
            push([getattr(node, f, None) for f in ("elt", "key", "value")], inner)
            continue
        elif kind in _SCOPES:
            scopes = True
            params = local | {p.name for p in getattr(node, "type_params", None) or ()}
            push(getattr(node, "decorator_list", ()), local)
            if kind is ast.ClassDef:
                push(node.bases + [k.value for k in node.keywords], params)
                defs.setdefault(node.name, False)  # a class decorator calls no method
            else:
                a = node.args
                push(a.defaults + a.kw_defaults, local)
            if kind is not ast.Lambda and kind is not ast.ClassDef:
                every = a.posonlyargs + a.args + a.kwonlyargs + [a.vararg, a.kwarg]
                notes = [arg.annotation for arg in every if arg] + [node.returns]
                push([] if lazy else notes, params)
                defs[node.name] = defs.get(node.name) or bool(node.decorator_list)
            if kind is not ast.Lambda:
                writes.add(node.name)
            continue
        elif kind is ast.AnnAssign and type(node.target) is ast.Name:
            if node.value is not None:  # ``x: int`` alone binds nothing
                writes.add(node.target.id)
            push([None if lazy else node.annotation, node.value], local)
            continue
        elif kind is ast.AugAssign and type(node.target) is ast.Name:
            reads.add(node.target.id)
        elif kind is ast.Import or kind is ast.ImportFrom:
            for alias in node.names:
                if alias.name == "*":
                    why.append(f"from {'.' * node.level}{node.module or ''} import *")
                elif alias.name == "__main__":  # its attributes are the notebook's globals
                    why.append("import __main__")
                bound = alias.asname or alias.name
                writes.add(bound.split(".")[0] if kind is ast.Import else bound)
            writes.discard("*")
        elif kind is _TYPE_ALIAS:
            writes.add(node.name.id)
            push([node.value], local | {p.name for p in node.type_params})
            continue
        elif kind is ast.Nonlocal:
            why.append("syntax error")
        elif kind in _CAPTURES:
            writes.update(filter(None, (getattr(node, f, None) for f in ("name", "rest"))))
        elif kind is ast.Call:
            owner = getattr(node.func, "value", None)
            if type(owner) is ast.Call and getattr(owner.func, "id", None) == "get_ipython":
                found = _magic(node, transform, depth + 1)
                reads |= found.reads
                writes |= found.writes
                why.append(found.unknown)
                continue
            why.append(_builtin_call(node))
        stack.extend((child, local) for child in ast.iter_child_nodes(node))
    return reads, writes, defs, scopes, next(filter(None, why), None)


def _builtin_call(node):
    """Why a module-level call hides names (exec/eval with no namespace of their own)."""
    name = getattr(node.func, "id", None)
    if name in ("exec", "eval"):
        own = len(node.args) > 1 or any(k.arg == "globals" for k in node.keywords)
        return None if own else name + "()"
    bare = name in ("vars", "locals") and not node.args
    return name + "()" if bare or name in ("globals", "get_ipython") else None


def _magic(node, transform, depth):
    """``get_ipython().run_line_magic('name', 'line')`` and the like: known magics."""
    form = _FORMS.get(node.func.attr)
    args = [a.value if type(a) is ast.Constant else None for a in node.args]
    if form is None or node.keywords or not all(type(a) is str for a in args):
        return _cannot("get_ipython()")
    if form == "!" or len(args) != len(form) + 1:  # a shell command, or not IPython's
        return _cannot(None if form == "!" else "get_ipython()")
    name, line, body = (*args, None)[:3]
    quiet = name in (_LINE_QUIET if form == "%" else _CELL_QUIET)
    if quiet or (name, form, line.strip()) == ("debug", "%", ""):  # %debug: post mortem
        return _cannot(None)
    words, writes, found = line.split(), set(), _cannot(None)
    if name in _SCRIPTS and form == "%%":  # --out x, --out=x
        pairs, named = zip(words, words[1:] + [""]), ("--out", "--err", "--proc")
        writes = {w.partition("=")[2] or n for w, n in pairs if w.split("=")[0] in named}
    elif name == "time":
        code = body if form == "%%" else line.replace("--no-raise-error", "")
        found = _analyse(code, transform, depth)
    elif name == "capture" and form == "%%":
        writes, found = {w for w in words if w[:1] != "-"}, _analyse(body, transform, depth)
    elif name in _OPTIONS:
        valued, flags = _OPTIONS[name]  # getopt's way, as IPython parses them
        opts = re.match(rf"(?:\s*-[{flags}]*(?:[{valued}]\s*\S+|(?=\s|$)))*", line)
        rest = line[opts.end() :].strip()
        if rest.startswith("-"):
            return _cannot(form + name)  # an option IPython refuses
        code = (rest + "\n" + body) if body is not None else rest
        found = _analyse(code, transform, depth)
        if name == "timeit":  # run in a function of its own: what it binds is local there
            found = CellNames(found.reads - found.writes, frozenset(), found.unknown)
            writes = set(re.findall(rf"-[{flags}]*v\s*(\S+)", opts.group()))  # -v: the result
    else:
        return _cannot(form + name + (" -r" if name == "store" and "-r" in words else ""))
    return found._replace(writes=found.writes | {w for w in writes if w.isidentifier()})


def _nested(source, module_reads, defs, augmented):
    """The bodies' global reads and writes; a def's only if the cell refers to it."""
    always, units = (set(), set()), {}  # units: def or class name -> its functions' names

    def walk(table, gate, owner):
        for child in table.get_children():
            kind, name, inner, owner_ = child.get_type(), child.get_name(), gate, owner
            if kind == "class":
                owner_ = owner or name  # methods count when the class is used
            elif kind == "function" and name != "lambda" and ".0" not in child.get_identifiers():
                inner = gate or owner or name  # a def's body runs when it is called
            reads, writes = always if inner is None else units.setdefault(inner, (set(), set()))
            for sym in child.get_symbols():
                n = sym.get_name()
                if not sym.is_global() or n[0] == "." or n[:2] == n[-2:] == "__":
                    continue  # locals, closures; the compiler's own names vary by version
                if sym.is_referenced():
                    reads.add(n)
                if sym.is_declared_global() and (sym.is_assigned() or sym.is_imported()):
                    writes.add(n)
                    if n in augmented:  # ``global n; n += 1``: symtable says assigned
                        reads.add(n)
            walk(child, inner, owner_)

    walk(symtable.symtable(source, _FILE, "exec"), None, None)
    reads, writes = always
    used = module_reads | reads | {name for name, decorated in defs.items() if decorated}
    while any(name in used for name in units):
        for name in [name for name in units if name in used]:
            unit_reads, unit_writes = units.pop(name)
            reads, writes, used = reads | unit_reads, writes | unit_writes, used | unit_reads
    return reads, writes


def _python(source, transform, depth):
    if warnings.filters[:1] != [_QUIET]:  # ours first, whatever a person added since
        warnings.filterwarnings("ignore", category=Warning, module=_QUIET[3].pattern)
    try:
        tree = ast.parse(source, _FILE)
    except (SyntaxError, ValueError):
        return _cannot("syntax error")
    lazy = _LAZY_ANNOTATIONS.search(source)  # annotations are not evaluated then
    reads, writes, defs, scopes, unknown = _scan(tree, transform, depth, lazy)
    if scopes:
        walk = ast.walk(tree) if "global" in source else ()  # ``global n; n += 1``
        aug = {getattr(n.target, "id", None) for n in walk if type(n) is ast.AugAssign}
        try:
            more = _nested(source, reads, defs, aug)
        except SyntaxError:  # e.g. a name used before its global declaration
            return _cannot("syntax error")
        reads, writes = reads | more[0], writes | more[1]
        for name in sorted(more[0] & _HAZARDS)[:1]:  # in a body the cell runs
            unknown = unknown or f"{name}() in a function"
    return CellNames(frozenset(reads), frozenset(writes), unknown)


@functools.cache
def _default_transform():
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell
    except Exception:
        return str  # no IPython: the text is the source


def _analyse(raw, transform, depth=0):
    if not isinstance(raw, str):
        return _cannot("not a cell's text")
    if len(raw) > MAX_CELL or depth > 8:  # (magics 8 deep: as good as too big)
        return _cannot("cell too big to analyse")
    given = getattr(_given, "cell", None) if depth == 0 else None
    try:
        if given is not None and given[0] is raw:
            source = given[1]
        else:
            source = (transform or _default_transform())(raw) + ""  # a str, or TypeError
    except SyntaxError:
        return _cannot("syntax error")
    except Exception:
        return _cannot("IPython could not transform the cell")
    try:
        return _python(source, transform, depth)
    except (RecursionError, MemoryError):
        return _cannot("cell too complex to analyse")
    except Exception as err:  # a bug here must not stop the person's cell
        return _cannot(f"cannot analyse ({type(err).__name__})")


# A cell's transform made already, for the analysis under way in this thread (``analyse``).
_given = threading.local()
# Cached by text: small cells many, big ones few (the cache keeps their text).
_small, _big = functools.lru_cache(256)(_analyse), functools.lru_cache(8)(_analyse)


def analyse(raw, transform=None, transformed=None):
    """The global names cell ``raw`` reads and writes; cached by text; never raises.

    ``transformed``: ``transform(raw)`` made already (IPython 9 hands it to
    ``pre_run_cell``), taken on a miss instead of transforming again."""
    _given.cell = (raw, transformed) if isinstance(transformed, str) else None
    try:
        return (_small if len(raw) < 16_384 else _big)(raw, transform)
    except TypeError:  # no len, or an unhashable transform: not cached
        return _analyse(raw, transform)
    finally:
        _given.cell = None


def clear_cache():
    _small.cache_clear()
    _big.cache_clear()


_OWN = frozenset("_ __ ___ _i _ii _iii _ih _oh _dh _sh In Out get_ipython exit quit".split())


def is_own_name(name, hidden=()):
    """Whether ``name`` is IPython's (``hidden``: ``shell.user_ns_hidden``)."""
    try:
        own = name in _OWN or re.match(r"_i?\d+\Z", name) or name[:2] == name[-2:] == "__"
        return bool(own or name in hidden)
    except Exception:
        return False


# What bytecode does with globals (LOAD_NAME: the class bodies within a function).
_LOADS = frozenset({"LOAD_GLOBAL", "LOAD_NAME", "LOAD_FROM_DICT_OR_GLOBALS"})
_STORES = frozenset({"STORE_GLOBAL", "DELETE_GLOBAL"})
_code_cache = {}  # code -> (reads, writes); equal code (a cell run again) hits
# Attributes read through ``type``'s own descriptors: no code of the object's runs.
_TYPE_DICT, _TYPE_MRO = type.__dict__["__dict__"], type.__dict__["__mro__"]
_TYPE_FLAGS, _HEAPTYPE = type.__dict__["__flags__"], 1 << 9
_LRU = getattr(functools, "_lru_cache_wrapper", None)
_EMPTY_CELL = types.CellType()  # != compares a cell with it without running any code
WRAPPERS = {  # what each kind of callable wraps, by id: a metaclass's hash or == is code
    id(types.FunctionType): None,
    **{id(kind): lambda v: [v.__func__] for kind in (staticmethod, classmethod, types.MethodType)},
    id(property): lambda v: [v.fget, v.fset, v.fdel],
    id(functools.partial): lambda v: [v.func, *v.args, *v.keywords.values()],
    id(_LRU): lambda v: [v.__wrapped__],
}


def _code_names(code):
    found = _code_cache.get(code)
    if found is None:
        reads, writes, stack = set(), set(), [code]
        while stack:
            co = stack.pop()
            ops = [(i.opname, i.argval) for i in dis.get_instructions(co)]
            stored = {arg for op, arg in ops if op == "STORE_NAME"}  # a class body's own
            reads |= {arg for op, arg in ops if op in _LOADS} - stored
            writes |= {arg for op, arg in ops if op in _STORES}
            stack.extend(c for c in co.co_consts if type(c) is types.CodeType)
        if len(_code_cache) > 4096:
            _code_cache.clear()
        found = _code_cache[code] = (reads, writes)
    return found


def _codes(value, namespace, out, depth=0):
    """The notebook's own code behind ``value``, told by type: nothing of it runs."""
    kind = type(value)
    if kind is types.FunctionType:
        if value.__globals__ is namespace:
            out.append((value.__code__, value.__name__))
        inner = [c.cell_contents for c in value.__closure__ or () if c != _EMPTY_CELL]
        inner.append(value.__dict__.get("__wrapped__"))  # a decorator's, functools.wraps
    elif WRAPPERS.get(id(kind)):
        inner = WRAPPERS[id(kind)](value)
    elif depth == 0:  # a class, or an instance of one defined in Python: all its methods
        klass = value if issubclass(kind, type) else kind
        if not _TYPE_FLAGS.__get__(klass) & _HEAPTYPE:
            return
        inner = [v for base in _TYPE_MRO.__get__(klass) for v in _TYPE_DICT.__get__(base).values()]
    else:
        return
    for item in inner:
        if depth < 3 and id(type(item)) in WRAPPERS:
            _codes(item, namespace, out, depth + 1)


def expand(names, namespace, limit=200):
    """``names`` with the globals the notebook's own functions it reads (and those they
    read, up to ``limit``) read and write. Nothing is called; never raises."""
    reads, writes, unknown = set(names.reads), set(names.writes), names.unknown
    todo, queued, seen = list(names.reads) * isinstance(namespace, dict), set(names.reads), set()
    while todo and len(seen) <= limit:
        found = []
        try:
            _codes(dict.get(namespace, todo.pop()), namespace, found)
            for code, owner in found:
                if id(code) in seen or len(seen) == limit:
                    seen.add(id(code))  # past the limit: unknown
                    continue
                seen.add(id(code))
                code_reads, code_writes = _code_names(code)
                for name in sorted(code_reads & _HAZARDS)[:1]:
                    unknown = unknown or f"{name}() in {owner}"
                reads |= code_reads
                writes |= code_writes
                todo.extend(code_reads - queued)
                queued |= code_reads
        except Exception:  # an object we cannot look into: skip it
            pass
    if len(seen) > limit:
        unknown = unknown or "too many functions to follow"
    return CellNames(frozenset(reads), frozenset(writes), unknown)
