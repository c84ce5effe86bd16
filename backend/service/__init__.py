"""The worker process and its request handlers.

The JSON-lines protocol, the method registry, the typed request schema and one handler module per task.
"""
