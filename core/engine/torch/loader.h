// loader.h: loading libzpng-torch.so at run time. loader.c defines every
// function of csrc/binding.h as a call through a pointer that zt_load fills
// from the library, so the Go code calls them as if linked.
#ifndef ZPNG_TORCH_LOADER_H
#define ZPNG_TORCH_LOADER_H

// zt_load opens the library at path (with libtorch beneath it) and resolves
// every function. It returns NULL on success or a message allocated with
// malloc. Call the other functions only after a successful zt_load.
char* zt_load(const char* path);

#endif
