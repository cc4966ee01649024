"""The one error type a user ever sees: a sentence saying what was wrong."""


class UserError(ValueError):
    """Bad input, explained in a sentence that names what to change.

    The command line prints it after ``error:``; the window shows it in a message.
    """
