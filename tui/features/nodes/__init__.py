"""Nodes: the list, a node's detail, its form, the retire and reinstate dialogs, the node actions."""
