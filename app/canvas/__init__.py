"""The node canvas on Qt Graphics View: the scene mirrors the graph model by id."""
