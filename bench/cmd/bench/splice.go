package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
)

// The report owns only the lines between its markers; everything else in the
// file (sections written by hand, say the bench-seed figures) is kept as it
// is. A file without the section gets it at its end.
func markers(section string) (begin, end string) {
	return fmt.Sprintf("<!-- bench:begin %s: written by bench/cmd/bench, edits here are overwritten -->\n", section),
		fmt.Sprintf("<!-- bench:end %s -->\n", section)
}

// errMarkers: the file's markers of the section are not one begin then one
// end, so what the report owns is unclear and nothing is written.
var errMarkers = errors.New("report markers")

// splice returns doc with section's content (between its markers) replaced
// by body, or with the section appended when doc has none.
func splice(doc []byte, section, body string) ([]byte, error) {
	begin, end := markers(section)
	b := bytes.Index(doc, []byte(begin))
	e := bytes.Index(doc, []byte(end))
	switch {
	case b < 0 && e < 0:
		out := bytes.Clone(doc)
		if len(out) > 0 && !bytes.HasSuffix(out, []byte("\n\n")) {
			if !bytes.HasSuffix(out, []byte("\n")) {
				out = append(out, '\n')
			}
			out = append(out, '\n')
		}
		return append(out, begin+body+end...), nil
	case b < 0 || e < 0 || e < b ||
		bytes.Count(doc, []byte(begin)) > 1 || bytes.Count(doc, []byte(end)) > 1:
		return nil, fmt.Errorf("%w: section %q needs one %q line and one %q line after it",
			errMarkers, section, bytes.TrimSpace([]byte(begin)), bytes.TrimSpace([]byte(end)))
	}
	out := append(bytes.Clone(doc[:b]), begin+body...)
	return append(out, doc[e:]...), nil
}

// spliceFile writes body into section of the file at path (created if
// missing), keeping the rest of the file.
func spliceFile(path, section, body string) error {
	doc, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	out, err := splice(doc, section, body)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, out, 0o644)
}

// checkReportFile fails early, before the benchmarks run, when the report
// could not be written into path.
func checkReportFile(path, section string) error {
	doc, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := splice(doc, section, ""); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
