"""The pre-registered budget study (study/registration.yaml, study/dvc.yaml): its registration as read
(``registration``), its claims table (``claims``, the claims stage's ``--table study``) and its figures
(``figures``), on the package's grid, claims and figure machinery."""
