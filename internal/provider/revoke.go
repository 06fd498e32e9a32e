package provider

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/tokenmint/tokenmint/internal/httpx"
)

// ErrNoID is returned when a token to revoke by ID has none.
var ErrNoID = errors.New("failed to revoke: no token ID")

// DeleteByID sends the revocation most services share, DELETE
// {collection}/{id} (the ID path-escaped), and treats 404 and 410 as
// success: the token is already gone.
func DeleteByID(ctx context.Context, c *httpx.Client, collection, id string, h http.Header) error {
	if id == "" {
		return ErrNoID
	}
	_, err := c.Do(ctx, &httpx.Request{
		Method: http.MethodDelete, URL: collection + "/" + url.PathEscape(id), Header: h,
		OK: []int{http.StatusNotFound, http.StatusGone},
	})
	return err
}
