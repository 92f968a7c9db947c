# The seed's test/__init__.py (empty): makes these modules the package "seed", apart from python/tests/.
