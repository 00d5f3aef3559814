// mgclient drives minio-go (Debian's golang-github-minio-minio-go-v7-dev) against
// sigv4kit's test S3 application. Over plain http, minio-go uploads with signed
// aws-chunked bodies (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) and no Content-Encoding.
//
// usage: mgclient HOST:PORT ACCESS SECRET BUCKET KEY SIZE [put]
// Without "put": make the bucket if needed, upload, download and compare,
// list, presign. With "put": the upload alone (for the negative tests).
// Prints "ok <objects listed> <sha256 of the data> <presigned GET URL>" or "error <S3 code> <message>"
// and exits 1.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

func fail(err error) {
	r := minio.ToErrorResponse(err)
	fmt.Printf("error %s %s\n", r.Code, err)
	os.Exit(1)
}

func main() {
	a := os.Args[1:]
	ctx := context.Background()
	size, _ := strconv.Atoi(a[5])
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*7 + i/251)
	}
	c, err := minio.New(a[0], &minio.Options{Creds: credentials.NewStaticV4(a[1], a[2], ""), Region: "us-east-1"})
	if err != nil {
		fail(err)
	}
	if len(a) > 6 && a[6] == "put" {
		if _, err := c.PutObject(ctx, a[3], a[4], bytes.NewReader(data), int64(size), minio.PutObjectOptions{}); err != nil {
			fail(err)
		}
		fmt.Println("ok")
		return
	}
	if ok, err := c.BucketExists(ctx, a[3]); err != nil {
		fail(err)
	} else if !ok {
		if err := c.MakeBucket(ctx, a[3], minio.MakeBucketOptions{Region: "us-east-1"}); err != nil {
			fail(err)
		}
	}
	if _, err := c.PutObject(ctx, a[3], a[4], bytes.NewReader(data), int64(size), minio.PutObjectOptions{}); err != nil {
		fail(err)
	}
	obj, err := c.GetObject(ctx, a[3], a[4], minio.GetObjectOptions{})
	if err != nil {
		fail(err)
	}
	got, err := io.ReadAll(obj)
	if err != nil {
		fail(err)
	}
	if !bytes.Equal(got, data) {
		fmt.Printf("error Mismatch downloaded %d bytes differ from the %d uploaded\n", len(got), size)
		os.Exit(1)
	}
	n := 0
	for o := range c.ListObjects(ctx, a[3], minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			fail(o.Err)
		}
		n++
	}
	u, err := c.PresignedGetObject(ctx, a[3], a[4], 10*time.Minute, nil)
	if err != nil {
		fail(err)
	}
	fmt.Printf("ok %d %x %s\n", n, sha256.Sum256(data), u)
}
