"""English dates as readers expect them: "January 4, 2021", not Django's AP style "Jan. 4, 2021"."""

DATE_FORMAT = "F j, Y"
DATETIME_FORMAT = "F j, Y, P"
