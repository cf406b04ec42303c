"""Korean date formats for readers: "2021년 3월 4일", and the time after 오전/오후 as Korean writes it."""

DATE_FORMAT = "Y년 n월 j일"
DATETIME_FORMAT = "Y년 n월 j일 A g:i"
