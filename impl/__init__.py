"""Charter's hand-written code: the platform layer, the domain packages, and the app factory that wires them."""
