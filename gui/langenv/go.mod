module early.zpng/langenv

go 1.26.8
