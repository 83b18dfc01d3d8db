"""The centre's nodes: node types and nodes, and each node's state now."""
