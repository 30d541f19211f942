#!/usr/bin/python3
"""Every record of a ChromaDB collection, read from the server's HTTP API
(an oracle independent of ragged, and exact: the server's vector query is
approximate, and with k >= the record count its HNSW index can leave out a
few records, so a query does not list a collection).

usage: _chroma_dump.py URL COLLECTION
Prints {"results": [{"id", "text", "metadata"}]} like `ragged query --format
json`, or {"error": {"code": "not_found"}} when there is no such collection."""
import json
import sys
import urllib.error
import urllib.request

BASE = "/api/v2/tenants/default_tenant/databases/default_database/collections"


def call(url, body=None):
    req = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"},
                                 method="POST" if body is not None else "GET")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(req, timeout=30) as r:
        return json.load(r)


def main():
    url, name = sys.argv[1].rstrip("/"), sys.argv[2]
    try:
        coll = call("%s%s/%s" % (url, BASE, name))
    except urllib.error.HTTPError as e:
        if e.code == 404:
            print(json.dumps({"error": {"code": "not_found"}}))
            return 0
        raise
    out, offset, page = [], 0, 1000
    while True:
        got = call("%s%s/%s/get" % (url, BASE, coll["id"]),
                   {"include": ["documents", "metadatas"], "limit": page, "offset": offset})
        for i, d, m in zip(got["ids"], got["documents"], got["metadatas"]):
            out.append({"id": i, "text": d, "metadata": m or {}})
        if len(got["ids"]) < page:
            break
        offset += page
    print(json.dumps({"results": out}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
