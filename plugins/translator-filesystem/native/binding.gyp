{
  "targets": [
    {
      "target_name": "ebm_extents",
      "sources": ["extents.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
