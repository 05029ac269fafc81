"""`python -m functions.deploy` (`nox -s deploy`, `undeploy`, `smoke`): the platform on Kind.

A development tool, not part of the image: it drives `kind`, `kubectl` and `docker`.
"""
