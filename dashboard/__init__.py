"""The minirq web dashboard (a Flask blueprint and app factory)."""
