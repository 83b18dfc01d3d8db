"""SKUs and rates, and the fee subscriptions priced by them."""
