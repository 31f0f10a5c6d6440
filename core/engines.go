package core

// The native engine registers itself where cgo is on; --engine native picks it.
import _ "zpng/core/engine/native"
