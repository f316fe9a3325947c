"""The runtime shipped in every deployed Python function (packaged as `refinery_lambda`)."""
