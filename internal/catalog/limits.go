package catalog

import "errors"

// ErrTooLarge marks a refusal for size (HTTP 413); it is always wrapped
// with errdefs.ErrInvalidArgument too.
var ErrTooLarge = errors.New("too large")

// Limits bound what one team may ask of the template build API. A zero
// field takes its default (DefaultLimits).
type Limits struct {
	// MaxUploadBytes bounds one uploaded build-files archive, as sent
	// (gzipped or not).
	MaxUploadBytes int64
	// MaxFilesBytes bounds what one uploaded archive holds unpacked: the
	// total size of a COPY step's files.
	MaxFilesBytes int64
	// MaxUploadTokens bounds the upload URLs a team may hold at once
	// (handed out and neither used nor expired).
	MaxUploadTokens int
	// PoolTeamMax is the most sandboxes a key that is not an admin key
	// may pool over all of its team's templates together, the sum of
	// their pool maxima (PUT /templates/{id}/pool); negative lets only
	// admin keys set pools.
	PoolTeamMax int
	// FilesQuotaBytes bounds the bytes of uploaded build-files archives
	// one team keeps stored at once.
	FilesQuotaBytes int64
}

// DefaultLimits are the limits a zero field means.
func DefaultLimits() Limits {
	return Limits{MaxUploadBytes: 1 << 30, MaxFilesBytes: 4 << 30, MaxUploadTokens: 64, PoolTeamMax: 4, FilesQuotaBytes: 4 << 30}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxUploadBytes <= 0 {
		l.MaxUploadBytes = d.MaxUploadBytes
	}
	if l.MaxFilesBytes <= 0 {
		l.MaxFilesBytes = d.MaxFilesBytes
	}
	if l.MaxUploadTokens <= 0 {
		l.MaxUploadTokens = d.MaxUploadTokens
	}
	if l.FilesQuotaBytes <= 0 {
		l.FilesQuotaBytes = d.FilesQuotaBytes
	}
	if l.PoolTeamMax == 0 {
		l.PoolTeamMax = d.PoolTeamMax
	}
	return l
}
