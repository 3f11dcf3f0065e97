package repo

// WithPartBytes returns o with an initial load's parts of about n encoded
// bytes instead of partBytes: a test loads few rows in many parts.
func WithPartBytes(o InitialLoadOptions, n int) InitialLoadOptions {
	o.partBytes = n
	return o
}
