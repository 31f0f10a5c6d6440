// Package core is ZPNG's API: Compress, Decompress, Verify and Inspect. It
// picks a method, builds the container, decodes its own output again and
// checks SHA-256 before anything is written in place. Each method is a small
// unit registered in methods.go: the classical ones (stored, zstd, xz, cm)
// there, and neural.go's thin adapter to package core/neural for the
// methods that run a model.
package core

import (
	"errors"
	"time"

	"zpng/codec"
	"zpng/core/archive"
	"zpng/core/catalog"
	"zpng/core/neural"
)

// Options steer a compression or decompression.
type Options struct {
	// Level is 1 (fastest) to 9 (smallest); 0 means DefaultLevel.
	Level int
	// Method is auto (the level's choice, the default), hybrid, neural,
	// cm, zstd, xz or stored.
	Method string
	// Model is auto (the level's choice, the default), small, large or a
	// model file path.
	Model string
	// FinetuneSteps is the fine-tune's length: FinetuneByLevel for the
	// level's, 0 for none.
	FinetuneSteps int
	SelfContained bool
	Device        string // auto, cpu or cuda
	Engine        string // "" (best available), torch, native or go
	Threads       int
	Force         bool // overwrite an existing output file
	// ModelsDir is the folder searched for models besides the shipped ones;
	// "" means ModelsDir().
	ModelsDir string
	// Catalog, if set, is the models to use instead of the shipped ones and
	// the models folder.
	Catalog *catalog.Catalog
	// Policy, if set, replaces neural.DefaultPolicy.
	Policy *neural.Policy
	// Progress, if set, is called from the worker goroutine.
	Progress func(Progress)
	// Tree bounds what restoring a tree may create (entries, bytes) and
	// can refuse names that differ only in case; zero values are the
	// defaults.
	Tree archive.Options
}

func (o *Options) catalog() *catalog.Catalog {
	if o.Catalog != nil {
		return o.Catalog
	}
	return catalog.Default(o.ModelsDir)
}

// Progress reports how far a job is.
type Progress struct {
	Phase       string // read, compress zstd, write, verify, decompress, …
	Done, Total int64  // units of the current phase (bytes or steps)
	Fraction    float64
	BytesPerSec float64
	ETA         time.Duration
	Loss        float64 // fine-tune loss, when the phase is a fine-tune
}

// Result describes a finished job. For a compression Input is the original
// and Output the PNG; for a decompression the other way round.
type Result struct {
	Input, Output         string
	InputSize, OutputSize int64
	Method, Model         string
	BitsPerByte           float64 // PNG bits per original byte
	SHA256                [32]byte
	Verified              bool
	Elapsed               time.Duration
	Notes                 []string
	Entries               int // folders, files and links of a tree, its root not counted; 0 for one file
}

// Errors callers can test with errors.Is.
var (
	// ErrExists: the output file exists and Options.Force is not set.
	ErrExists = errors.New("output file exists")
	// ErrUnavailable: the method cannot run in this build or with these options.
	ErrUnavailable = neural.ErrUnavailable

	ErrNotZPNG            = codec.ErrNotZPNG
	ErrTruncated          = codec.ErrTruncated
	ErrCorrupt            = codec.ErrCorrupt
	ErrUnsupportedVersion = codec.ErrUnsupportedVersion
	ErrUnsupportedMethod  = codec.ErrUnsupportedMethod
)

// Info is what a ZPNG image's header says, for `zpng info` and the GUI.
type Info struct {
	Path          string
	FileSize      int64
	Width, Height int64
	Version       int
	Method        string
	MethodID      int
	Flags         uint16
	OriginalSize  int64
	SHA256        [32]byte
	Name          string // the name to restore to (RestoredName)
	StoredName    string // the name exactly as stored
	ModelID       [32]byte
	ModelFile     string // the file of a superseded model that ModelID names, and where it is
	Sections      []SectionInfo
	Meta          []byte          // the META section (JSON) if it comes first, else nil
	Tree          []archive.Entry // an image of a tree: its entries, the root first; nil for one file
	BitsPerByte   float64         // PNG bits per original byte
	Decodable     bool            // this build has the method
	Regions       []RegionInfo    // an image of method regions: its regions, in order
}

// RegionInfo is one region of an image of method regions.
type RegionInfo struct {
	Offset, Length int64  // the bytes of the original it holds
	Method         string // cm, hybrid, stored, copy, ...
	Flags          uint16
	Kind           string // text, binary, executable, random or copy, as its method and flags tell
	Coded          int64  // the length of its sections
	Source         int64  // a copy: where the bytes it repeats start
}

// SectionInfo is one entry of the container's section table.
type SectionInfo struct {
	Type   string
	Length int64
	CRC32C uint32
}
