"""Carts: one per guest session or per customer, priced from the catalog on every read.

The cart stores only SKUs and quantities, in the order they were added; names, prices and totals are
always taken from the catalog's SKU items when the cart is shown. One currency per cart.
"""
