"""The shared package of the commerce backend, shipped to every function as the common Lambda layer."""
