"""The scenarios of `nox -s bench`: each runs `plan.repeat` times and adds its figures."""
