module zpng

go 1.26.8
