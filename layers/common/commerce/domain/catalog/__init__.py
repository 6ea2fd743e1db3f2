"""The catalog: products with variants (SKUs), prices in minor units, categories, name-prefix search.

`service` holds the operations; `ports` the repository port; `schemas` the strict request models;
`views` the JSON shapes of the HTTP contract; `memory` an in-memory repository for unit tests.
"""
