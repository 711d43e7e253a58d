"""embtui terminal user interface."""
