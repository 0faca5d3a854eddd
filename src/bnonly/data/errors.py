"""The one exception the data layer raises for bad input."""


class DataError(ValueError):
    """Raw or prepared data is missing, corrupt or not what the data set should be.

    The message names the offending file or folder and says what is wrong with it.
    """
