"""The Locust journeys of `make load`: one module per kind of visitor, sharing the request helpers in calls.py."""
