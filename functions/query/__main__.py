"""`python -m functions.query`: serve AnalyticsService over gRPC (h2c) on `PORT`."""

from functions.query.server import main

main()
