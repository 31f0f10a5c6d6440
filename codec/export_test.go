package codec

// Internals for the external tests (package codec_test), which decode
// payloads with the method packages that import this one.

var (
	WritePNG = writePNG
	Pixels   = pixels
)

const (
	FixedHeaderLen  = fixedHeaderLen
	SectionEntryLen = sectionEntryLen
	ExpansionSlack  = expansionSlack
)
