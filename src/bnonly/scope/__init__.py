"""The scope set: the paper table's rows on the networks the default grid left out (scope/registration.yaml)."""
