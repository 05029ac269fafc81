pytest_plugins = [
    "tests.fixtures.services",
    "tests.fixtures.stack",
    "tests.fixtures.functions",
    "tests.fixtures.pipeline",
    "tests.fixtures.browser",
    "tests.fixtures.dashboard",
    "tests.fixtures.dead_letters",
]
