"""NetCanvas's Qt GUI. Importing this package imports no Qt; modules below do."""
