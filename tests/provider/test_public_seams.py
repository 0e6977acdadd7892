"""Product code takes only public names from django-oauth-toolkit and oauthlib (issue 15, decision 1).

Every name the product code imports from `oauth2_provider` or `oauthlib`, every attribute it reads
on those modules, and every method it overrides or calls through super() in a subclass of one of
their classes is collected here. None may be private (a leading underscore): a patch release may
change those without notice. The list itself is printed, so a reviewer sees exactly what Signet
depends on.
"""

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("provider", "accounts", "keys", "sample_api")
LIBRARIES = ("oauth2_provider", "oauthlib")


def _private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _library(module):
    return module is not None and module.split(".")[0] in LIBRARIES


def product_files():
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


class Uses(ast.NodeVisitor):
    """Collect (what, name) pairs a module takes from the libraries."""

    def __init__(self):
        self.found = []
        self.module_aliases = {}  # local name -> library module path
        self.library_names = {}  # local name -> library object path (classes, functions)

    def visit_Import(self, node):
        for alias in node.names:
            if _library(alias.name):
                self.found.append(("import", alias.name))
                self.module_aliases[(alias.asname or alias.name).split(".")[0]] = alias.name.split(".")[0]

    def visit_ImportFrom(self, node):
        if _library(node.module):
            for alias in node.names:
                self.found.append(("import", f"{node.module}.{alias.name}"))
                target = f"{node.module}.{alias.name}"
                local = alias.asname or alias.name
                try:
                    importlib.import_module(target)
                    self.module_aliases[local] = target
                except ImportError:
                    self.library_names[local] = target
        self.generic_visit(node)

    def visit_Attribute(self, node):
        if isinstance(node.value, ast.Name) and node.value.id in self.module_aliases:
            self.found.append(("attribute", f"{self.module_aliases[node.value.id]}.{node.attr}"))
        if (
            isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
            and node.value.func.id == "super"
            and _private(node.attr)
        ):
            self.found.append(("super call", node.attr))
        self.generic_visit(node)

    def visit_ClassDef(self, node):
        bases = [self._library_base(base) for base in node.bases]
        library_bases = [base for base in bases if base is not None]
        if library_bases:
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    for base in library_bases:
                        if hasattr(base, item.name):
                            self.found.append(("override", f"{base.__module__}.{base.__name__}.{item.name}"))
        self.generic_visit(node)

    def _library_base(self, base):
        """The library class a base expression names, or None."""
        path = None
        if isinstance(base, ast.Name) and base.id in self.library_names:
            path = self.library_names[base.id]
        elif isinstance(base, ast.Attribute) and isinstance(base.value, ast.Name):
            module = self.module_aliases.get(base.value.id)
            path = f"{module}.{base.attr}" if module else None
        if path is None:
            return None
        module_path, _, name = path.rpartition(".")
        return getattr(importlib.import_module(module_path), name, None)


def library_uses():
    uses = []
    for path in product_files():
        visitor = Uses()
        visitor.visit(ast.parse(path.read_text(), filename=str(path)))
        uses += [(str(path.relative_to(ROOT)), what, name) for what, name in visitor.found]
    return uses


def test_product_code_takes_only_public_names_from_dot_and_oauthlib():
    uses = library_uses()
    print("\n".join(f"{path}: {what} {name}" for path, what, name in uses))
    assert uses, "found no use at all: the scan itself is broken"
    private = [(path, what, name) for path, what, name in uses if any(_private(p) for p in name.split("."))]
    assert private == []


def _product_classes():
    for path in product_files():
        if path.parts[len(ROOT.parts)] == "sample_api":
            continue  # its own Django project, and it imports neither library
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        module = importlib.import_module(name.removesuffix(".__init__"))
        for value in vars(module).values():
            if isinstance(value, type) and value.__module__ == module.__name__:
                yield value


# Django sets these on every model class, swapped DOT models included: not overrides of DOT's.
DJANGO_MODEL_MACHINERY = frozenset({"_meta"})


def _is_library(cls):
    return _library(cls.__module__)


def test_no_product_class_overrides_a_private_library_method():
    """Mixins too: a method a product class defines is checked against every library class that the
    classes it ends up in inherit from."""
    found = []
    for cls in _product_classes():
        library = [base for base in cls.__mro__ if _is_library(base)]
        if not library:
            continue
        for owner in cls.__mro__:
            if _is_library(owner) or owner is object:
                continue
            for name in vars(owner):
                if name in DJANGO_MODEL_MACHINERY:
                    continue
                if _private(name) and any(name in vars(base) for base in library):
                    found.append(f"{cls.__module__}.{cls.__name__}: {owner.__name__}.{name}")
    assert found == []


@pytest.mark.parametrize(
    "source",
    [
        "from oauth2_provider.oauth2_validators import OAuth2Validator\n"
        "class V(OAuth2Validator):\n    def _load_application(self, client_id, request):\n        pass\n",
        "from oauth2_provider import oauth2_validators\n"
        "class V(oauth2_validators.OAuth2Validator):\n"
        "    def f(self):\n        return super()._create_access_token()\n",
        "from oauth2_provider.views.oidc import _load_id_token\n",
        "from oauth2_provider import models\nmodels._x = 1\n",
    ],
    ids=["override", "super-call", "import", "module-attribute"],
)
def test_the_scan_catches_each_kind_of_private_use(source):
    visitor = Uses()
    visitor.visit(ast.parse(source))
    assert any(any(_private(p) for p in name.split(".")) for _what, name in visitor.found), visitor.found
