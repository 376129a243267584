/* The state tree's batch update, compiled: the same computation as the pure-Python
 * reference in state_tree.py (_walk_down, _update, _update_path, _build), node for node
 * and id for id. A property test (tests/test_state_tree.py) checks that both give the same
 * root, the same new nodes and the same errors on random histories.
 *
 * Why it exists: at a million keys a block of 1,000 writes reads ~11,500 stored nodes and
 * creates ~12,500; in CPython each costs ~4 us of interpreter work whatever the layout, so
 * the update loop is written here. Storage stays in Python: nodes are read through the
 * TreeNodeReader's get_tree_nodes (one call per tree level) and the new nodes are returned
 * as bytes for the caller to store.
 *
 * Determinism: integers and bytes only; no clock, randomness, floats or I/O.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#define KEY_BITS 256
#define HASH_SIZE 32
#define INTERNAL_SIZE 82 /* 0x01 | left(32) | right(32) | flags(1) | left_id(8) | right_id(8) */
#define LEAF_HEAD_SIZE 65 /* 0x00 | key_hash(32) | value_hash(32) */

/* A subtree as its parent sees it, plus where its decoded node is (if the walk read it). */
typedef struct {
    uint8_t hash[HASH_SIZE];
    uint64_t id; /* 0: the empty subtree */
    int leaf;    /* 1 if a leaf */
    Py_ssize_t read; /* index in Update.nodes of the decoded node, -1 if not read */
} Ref;

/* A stored node the walk down read and decoded. */
typedef struct {
    int internal;
    Ref left, right;  /* internal */
    Py_ssize_t mid;   /* internal: first write reaching it that goes right */
    uint8_t path[HASH_SIZE];       /* leaf */
    uint8_t value_hash[HASH_SIZE]; /* leaf */
} ReadNode;

/* A node the walk down still has to read: which child slot it fills, and the writes
 * [lo, hi) that reach it. */
typedef struct {
    Py_ssize_t parent; /* -1 for the root */
    int right;         /* fills the parent's right (1) or left (0) slot */
    uint64_t id;
    int expect; /* 1 leaf, 0 internal, -1 either (the root) */
    Py_ssize_t lo, hi;
} Pending;

typedef struct {
    Py_ssize_t count;
    const uint8_t (*paths)[HASH_SIZE]; /* sorted, distinct */
    PyObject *values;                  /* list of bytes or None */
    PyObject *error_type;              /* StateTreeError */
    ReadNode *nodes;
    Py_ssize_t nodes_len, nodes_cap;
    PyObject *new_nodes; /* list of bytes */
    uint64_t first_id;
} Update;

static const Ref EMPTY_REF = {{0}, 0, 0, -1};

/* SHA-256 through OpenSSL's low-level interface: its one-shot SHA256() goes through EVP in
 * OpenSSL 3 (an algorithm fetch and a lock per call, several times the hashing itself). */
static inline void sha256(const uint8_t *data, size_t size, uint8_t *digest) {
    SHA256_CTX context;
    SHA256_Init(&context);
    SHA256_Update(&context, data, size);
    SHA256_Final(digest, &context);
}

static inline int bit_at(const uint8_t *path, int depth) {
    return (path[depth >> 3] >> (7 - (depth & 7))) & 1;
}

static inline uint64_t read_be64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
    return v;
}

static inline void write_be64(uint8_t *p, uint64_t v) {
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
}

/* First index in the sorted paths[lo:hi] (which agree on their first `depth` bits) whose
 * bit `depth` is set. */
static Py_ssize_t split_paths(const uint8_t (*paths)[HASH_SIZE], Py_ssize_t lo, Py_ssize_t hi,
                              int depth) {
    while (lo < hi) {
        Py_ssize_t m = lo + (hi - lo) / 2;
        if (bit_at(paths[m], depth)) hi = m;
        else lo = m + 1;
    }
    return lo;
}

static Py_ssize_t new_read_node(Update *u) {
    if (u->nodes_len == u->nodes_cap) {
        Py_ssize_t cap = u->nodes_cap ? u->nodes_cap * 2 : 1024;
        ReadNode *grown = PyMem_Realloc(u->nodes, (size_t)cap * sizeof(ReadNode));
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        u->nodes = grown;
        u->nodes_cap = cap;
    }
    return u->nodes_len++;
}

static int push_pending(Pending **list, Py_ssize_t *len, Py_ssize_t *cap, Pending entry) {
    if (*len == *cap) {
        Py_ssize_t grown_cap = *cap ? *cap * 2 : 256;
        Pending *grown = PyMem_Realloc(*list, (size_t)grown_cap * sizeof(Pending));
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        *list = grown;
        *cap = grown_cap;
    }
    (*list)[(*len)++] = entry;
    return 0;
}

/* The same messages as state_tree._stored_node_error. */
static void stored_node_error(Update *u, uint64_t id, PyObject *data, int depth) {
    if (data == NULL) {
        PyErr_Format(u->error_type, "state tree node %llu is missing from storage",
                     (unsigned long long)id);
    } else if (depth >= KEY_BITS && PyBytes_GET_SIZE(data) > 0 &&
               PyBytes_AS_STRING(data)[0] == 1) {
        PyErr_SetString(u->error_type, "state tree is deeper than a key's 256 bits");
    } else {
        PyErr_Format(u->error_type,
                     "stored tree node %llu is malformed or not the kind its parent says "
                     "(%zd bytes)",
                     (unsigned long long)id, PyBytes_GET_SIZE(data));
    }
}

/* Read and decode every stored node the writes reach, one reader call per tree level, and
 * hang each decoded node on its parent's child slot (or on *root). */
static int walk_down(Update *u, PyObject *get_nodes, Ref *root) {
    Pending *level = NULL, *next = NULL;
    Py_ssize_t level_len = 0, level_cap = 0, next_len = 0, next_cap = 0;
    int ok = -1;
    if (root->id != 0) {
        Pending first = {-1, 0, root->id, -1, 0, u->count};
        if (push_pending(&level, &level_len, &level_cap, first) < 0) goto done;
    }
    for (int depth = 0; level_len > 0; depth++) {
        PyObject *ids = PyTuple_New(level_len); /* immutable: its items key the answer */
        if (ids == NULL) goto done;
        for (Py_ssize_t i = 0; i < level_len; i++) {
            PyObject *id = PyLong_FromUnsignedLongLong(level[i].id);
            if (id == NULL) {
                Py_DECREF(ids);
                goto done;
            }
            PyTuple_SET_ITEM(ids, i, id);
        }
        PyObject *found = PyObject_CallOneArg(get_nodes, ids);
        if (found == NULL) {
            Py_DECREF(ids);
            goto done;
        }
        if (!PyDict_Check(found)) {
            PyErr_SetString(PyExc_TypeError, "get_tree_nodes must return a dict");
            Py_DECREF(found);
            Py_DECREF(ids);
            goto done;
        }
        next_len = 0;
        for (Py_ssize_t i = 0; i < level_len; i++) {
            Pending p = level[i];
            PyObject *data = PyDict_GetItemWithError(found, PyTuple_GET_ITEM(ids, i));
            if (data == NULL && PyErr_Occurred()) goto level_failed;
            if (data != NULL && !PyBytes_Check(data)) {
                PyErr_SetString(PyExc_TypeError, "get_tree_nodes must return bytes");
                goto level_failed;
            }
            const uint8_t *bytes = data ? (const uint8_t *)PyBytes_AS_STRING(data) : NULL;
            Py_ssize_t size = data ? PyBytes_GET_SIZE(data) : 0;
            Py_ssize_t at;
            if (data != NULL && size == INTERNAL_SIZE && bytes[0] == 1 && p.expect != 1 &&
                depth < KEY_BITS) {
                if ((at = new_read_node(u)) < 0) goto level_failed;
                ReadNode *node = &u->nodes[at];
                uint8_t flags = bytes[65];
                node->internal = 1;
                memcpy(node->left.hash, bytes + 1, HASH_SIZE);
                memcpy(node->right.hash, bytes + 33, HASH_SIZE);
                node->left.id = read_be64(bytes + 66);
                node->right.id = read_be64(bytes + 74);
                node->left.leaf = flags & 1;
                node->right.leaf = (flags >> 1) & 1;
                node->left.read = node->right.read = -1;
                node->mid = split_paths(u->paths, p.lo, p.hi, depth);
                Pending left = {at, 0, node->left.id, node->left.leaf, p.lo, node->mid};
                Pending right = {at, 1, node->right.id, node->right.leaf, node->mid, p.hi};
                if (left.id != 0 && left.lo < left.hi &&
                    push_pending(&next, &next_len, &next_cap, left) < 0)
                    goto level_failed;
                if (right.id != 0 && right.lo < right.hi &&
                    push_pending(&next, &next_len, &next_cap, right) < 0)
                    goto level_failed;
            } else if (data != NULL && size >= LEAF_HEAD_SIZE && bytes[0] == 0 &&
                       p.expect != 0) {
                if ((at = new_read_node(u)) < 0) goto level_failed;
                ReadNode *node = &u->nodes[at];
                node->internal = 0;
                memcpy(node->path, bytes + 1, HASH_SIZE);
                memcpy(node->value_hash, bytes + 33, HASH_SIZE);
            } else {
                stored_node_error(u, p.id, data, depth);
                goto level_failed;
            }
            if (p.parent < 0) root->read = at;
            else if (p.right) u->nodes[p.parent].right.read = at;
            else u->nodes[p.parent].left.read = at;
            if (p.parent < 0) root->leaf = !u->nodes[at].internal;
        }
        Py_DECREF(found);
        Py_DECREF(ids);
        Pending *swap = level;
        level = next;
        next = swap;
        Py_ssize_t swap_cap = level_cap;
        level_cap = next_cap;
        next_cap = swap_cap;
        level_len = next_len;
        continue;
    level_failed:
        Py_DECREF(found);
        Py_DECREF(ids);
        goto done;
    }
    ok = 0;
done:
    PyMem_Free(level);
    PyMem_Free(next);
    return ok;
}

/* -- creating nodes ------------------------------------------------------------------- */
static int append_node(Update *u, PyObject *node, Ref *out) {
    out->id = u->first_id + (uint64_t)PyList_GET_SIZE(u->new_nodes);
    out->read = -1;
    int failed = PyList_Append(u->new_nodes, node);
    Py_DECREF(node);
    return failed;
}

/* The leaf for write `index`; `value_hash` may be NULL (then computed here). */
static int add_leaf(Update *u, Py_ssize_t index, const uint8_t *value_hash, Ref *out) {
    PyObject *value = PyList_GET_ITEM(u->values, index);
    const uint8_t *value_bytes = (const uint8_t *)PyBytes_AS_STRING(value);
    Py_ssize_t value_size = PyBytes_GET_SIZE(value);
    PyObject *node = PyBytes_FromStringAndSize(NULL, LEAF_HEAD_SIZE + value_size);
    if (node == NULL) return -1;
    uint8_t *data = (uint8_t *)PyBytes_AS_STRING(node);
    data[0] = 0;
    memcpy(data + 1, u->paths[index], HASH_SIZE);
    if (value_hash != NULL) memcpy(data + 33, value_hash, HASH_SIZE);
    else sha256(value_bytes, (size_t)value_size, data + 33);
    memcpy(data + LEAF_HEAD_SIZE, value_bytes, (size_t)value_size);
    sha256(data, LEAF_HEAD_SIZE, out->hash);
    out->leaf = 1;
    return append_node(u, node, out);
}

/* A new internal node over `left` and `right`. `out` may alias either. */
static int add_internal(Update *u, const Ref *left, const Ref *right, Ref *out) {
    PyObject *node = PyBytes_FromStringAndSize(NULL, INTERNAL_SIZE);
    if (node == NULL) return -1;
    uint8_t *data = (uint8_t *)PyBytes_AS_STRING(node);
    data[0] = 1;
    memcpy(data + 1, left->hash, HASH_SIZE);
    memcpy(data + 33, right->hash, HASH_SIZE);
    data[65] = (uint8_t)(left->leaf | (right->leaf << 1));
    write_be64(data + 66, left->id);
    write_be64(data + 74, right->id);
    sha256(data, 65, out->hash);
    out->leaf = 0;
    return append_node(u, node, out);
}

/* The subtree whose children are `left` and `right`, creating its node unless compaction
 * says otherwise (state_tree._Batch.join). */
static int join(Update *u, const Ref *left, const Ref *right, Ref *out) {
    if (right->id == 0) {
        if (left->id == 0 || left->leaf) {
            *out = *left; /* nothing, or a lone leaf that moves up */
            return 0;
        }
    } else if (left->id == 0 && right->leaf) {
        *out = *right;
        return 0;
    }
    return add_internal(u, left, right, out);
}

/* -- building and updating subtrees --------------------------------------------------- */
typedef struct {
    const uint8_t *path;
    Py_ssize_t write; /* index of the write, or -1 for the existing leaf */
} Placed;

typedef struct {
    uint8_t path[HASH_SIZE];
    Ref ref;
} ExistingLeaf;

static int build_placed(Update *u, int depth, const Placed *placed, Py_ssize_t lo,
                        Py_ssize_t hi, const ExistingLeaf *leaf, Ref *out) {
    if (lo == hi) {
        *out = EMPTY_REF;
        return 0;
    }
    if (hi - lo == 1) {
        if (placed[lo].write < 0) {
            *out = leaf->ref;
            out->leaf = 1;
            out->read = -1;
            return 0;
        }
        return add_leaf(u, placed[lo].write, NULL, out);
    }
    if (depth >= KEY_BITS) {
        /* Only a corrupt store gets here: a stored leaf off its parent's path. */
        PyErr_SetString(u->error_type, "state tree is deeper than a key's 256 bits");
        return -1;
    }
    Py_ssize_t a = lo, b = hi; /* split on bit `depth` */
    while (a < b) {
        Py_ssize_t m = a + (b - a) / 2;
        if (bit_at(placed[m].path, depth)) b = m;
        else a = m + 1;
    }
    Ref left, right;
    if (build_placed(u, depth + 1, placed, lo, a, leaf, &left) < 0) return -1;
    if (build_placed(u, depth + 1, placed, a, hi, leaf, &right) < 0) return -1;
    return join(u, &left, &right, out);
}

/* The subtree at `depth` holding the values writes [lo, hi) set and, unless a write
 * replaces or deletes it, the existing `leaf` (state_tree._build). */
static int build(Update *u, int depth, Py_ssize_t lo, Py_ssize_t hi, const ExistingLeaf *leaf,
                 Ref *out) {
    Placed *placed = PyMem_Malloc((size_t)(hi - lo + 1) * sizeof(Placed));
    if (placed == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t count = 0;
    int leaf_placed = leaf == NULL;
    if (leaf != NULL) {
        /* Is the leaf's key written by the batch? Then the write decides. */
        for (Py_ssize_t i = lo; i < hi; i++) {
            if (memcmp(u->paths[i], leaf->path, HASH_SIZE) == 0) {
                leaf_placed = 1;
                break;
            }
        }
    }
    for (Py_ssize_t i = lo; i < hi; i++) {
        if (!leaf_placed && memcmp(leaf->path, u->paths[i], HASH_SIZE) < 0) {
            placed[count].path = leaf->path;
            placed[count++].write = -1;
            leaf_placed = 1;
        }
        if (PyList_GET_ITEM(u->values, i) != Py_None) {
            placed[count].path = u->paths[i];
            placed[count++].write = i;
        }
    }
    if (!leaf_placed) {
        placed[count].path = leaf->path;
        placed[count++].write = -1;
    }
    int failed = build_placed(u, depth, placed, 0, count, leaf, out);
    PyMem_Free(placed);
    return failed;
}

static int update(Update *u, const Ref *tree, int depth, Py_ssize_t lo, Py_ssize_t hi,
                  Ref *out);

/* update() for a single write `lo` (state_tree._update_path): change where its path ends,
 * then rebuild the nodes it passed, bottom up. */
static int update_path(Update *u, const Ref *tree, int depth, Py_ssize_t lo, Ref *out) {
    Ref passed[KEY_BITS + 1];
    int went_right[KEY_BITS + 1];
    int count = 0;
    Ref end = *tree;
    const uint8_t *path = u->paths[lo];
    while (end.id != 0 && !end.leaf) {
        const ReadNode *node = &u->nodes[end.read];
        if (bit_at(path, depth + count)) {
            passed[count] = node->left;
            went_right[count] = 1;
            end = node->right;
        } else {
            passed[count] = node->right;
            went_right[count] = 0;
            end = node->left;
        }
        count++;
    }
    PyObject *value = PyList_GET_ITEM(u->values, lo);
    Ref now;
    if (end.id == 0) {
        if (value == Py_None) {
            *out = *tree; /* deleting a key that is absent */
            return 0;
        }
        if (add_leaf(u, lo, NULL, &now) < 0) return -1;
    } else {
        const ReadNode *leaf = &u->nodes[end.read];
        if (memcmp(leaf->path, path, HASH_SIZE) != 0) {
            if (value == Py_None) {
                *out = *tree; /* deleting a key that is absent */
                return 0;
            }
            ExistingLeaf existing;
            memcpy(existing.path, leaf->path, HASH_SIZE);
            existing.ref = end;
            if (build(u, depth + count, lo, lo + 1, &existing, &now) < 0) return -1;
        } else if (value == Py_None) {
            now = EMPTY_REF;
        } else {
            uint8_t value_hash[HASH_SIZE];
            sha256((const uint8_t *)PyBytes_AS_STRING(value), (size_t)PyBytes_GET_SIZE(value),
                   value_hash);
            if (memcmp(value_hash, leaf->value_hash, HASH_SIZE) == 0) {
                *out = *tree; /* rewritten with the value it already had */
                return 0;
            }
            if (add_leaf(u, lo, value_hash, &now) < 0) return -1;
        }
    }
    /* Every node passed changes; compaction as in join(). */
    while (count-- > 0) {
        const Ref *sibling = &passed[count];
        if (sibling->id == 0) {
            if (now.id == 0 || now.leaf) continue; /* nothing, or a lone leaf moving up */
        } else if (now.id == 0 && sibling->leaf) {
            now = *sibling;
            now.leaf = 1;
            continue;
        }
        int failed = went_right[count] ? add_internal(u, sibling, &now, &now)
                                       : add_internal(u, &now, sibling, &now);
        if (failed < 0) return -1;
    }
    *out = now;
    return 0;
}

/* The subtree at `depth` that was `tree`, once writes [lo, hi) (two or more, all passing
 * through it) are applied (state_tree._update). */
static int update(Update *u, const Ref *tree, int depth, Py_ssize_t lo, Py_ssize_t hi,
                  Ref *out) {
    if (tree->id == 0) return build(u, depth, lo, hi, NULL, out);
    const ReadNode *node = &u->nodes[tree->read];
    if (!node->internal) {
        ExistingLeaf existing;
        memcpy(existing.path, node->path, HASH_SIZE);
        existing.ref = *tree;
        return build(u, depth, lo, hi, &existing, out);
    }
    Py_ssize_t mid = node->mid;
    Ref left = node->left, right = node->right;
    if (lo < mid) {
        int failed = mid - lo == 1 ? update_path(u, &node->left, depth + 1, lo, &left)
                                   : update(u, &node->left, depth + 1, lo, mid, &left);
        if (failed < 0) return -1;
    }
    if (mid < hi) {
        int failed = hi - mid == 1 ? update_path(u, &node->right, depth + 1, mid, &right)
                                   : update(u, &node->right, depth + 1, mid, hi, &right);
        if (failed < 0) return -1;
    }
    if (memcmp(left.hash, node->left.hash, HASH_SIZE) == 0 &&
        memcmp(right.hash, node->right.hash, HASH_SIZE) == 0) {
        *out = *tree; /* the writes left this subtree as it was */
        return 0;
    }
    return join(u, &left, &right, out);
}

/* apply_sorted_updates(paths, values, root_hash, root_id, get_tree_nodes, first_id,
 *                      error_type) -> (new_root_hash, new_root_id, new_nodes) */
static PyObject *apply_sorted_updates(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *paths, *values, *get_nodes, *error_type;
    const char *root_hash;
    Py_ssize_t root_hash_size;
    unsigned long long root_id, first_id;
    if (!PyArg_ParseTuple(args, "O!O!y#KOKO", &PyList_Type, &paths, &PyList_Type, &values,
                          &root_hash, &root_hash_size, &root_id, &get_nodes, &first_id,
                          &error_type))
        return NULL;
    Py_ssize_t count = PyList_GET_SIZE(paths);
    if (root_hash_size != HASH_SIZE || PyList_GET_SIZE(values) != count) {
        PyErr_SetString(PyExc_ValueError, "a 32-byte root hash and one value per path");
        return NULL;
    }
    if (count == 0) {
        PyErr_SetString(PyExc_ValueError, "no writes to apply");
        return NULL;
    }
    uint8_t(*path_array)[HASH_SIZE] = PyMem_Malloc((size_t)count * HASH_SIZE);
    if (path_array == NULL) return PyErr_NoMemory();
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *path = PyList_GET_ITEM(paths, i);
        PyObject *value = PyList_GET_ITEM(values, i);
        if (!PyBytes_Check(path) || PyBytes_GET_SIZE(path) != HASH_SIZE ||
            (value != Py_None && !PyBytes_Check(value)) ||
            (i > 0 && memcmp(path_array[i - 1], PyBytes_AS_STRING(path), HASH_SIZE) >= 0)) {
            PyMem_Free(path_array);
            PyErr_SetString(PyExc_ValueError,
                            "paths must be sorted, distinct 32-byte hashes; values bytes "
                            "or None");
            return NULL;
        }
        memcpy(path_array[i], PyBytes_AS_STRING(path), HASH_SIZE);
    }
    Update u = {count, (const uint8_t(*)[HASH_SIZE])path_array, values, error_type,
                NULL, 0, 0, PyList_New(0), first_id};
    PyObject *result = NULL;
    if (u.new_nodes == NULL) goto done;
    Ref root = {{0}, root_id, 0, -1};
    memcpy(root.hash, root_hash, HASH_SIZE);
    if (walk_down(&u, get_nodes, &root) < 0) goto done;
    Ref now;
    int failed = count == 1 ? update_path(&u, &root, 0, 0, &now)
                            : update(&u, &root, 0, 0, count, &now);
    if (failed < 0) goto done;
    result = Py_BuildValue("(y#KO)", (const char *)now.hash, (Py_ssize_t)HASH_SIZE,
                           (unsigned long long)now.id, u.new_nodes);
done:
    Py_XDECREF(u.new_nodes);
    PyMem_Free(u.nodes);
    PyMem_Free(path_array);
    return result;
}

static PyMethodDef methods[] = {
    {"apply_sorted_updates", apply_sorted_updates, METH_VARARGS,
     "apply_sorted_updates(paths, values, root_hash, root_id, get_tree_nodes, first_id, "
     "error_type) -> (root_hash, root_id, new_nodes)\n\n"
     "The compiled form of state_tree.apply_state_updates' update loop."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "amchain.ledger._tree_update",
    "The state tree's batch update loop, compiled (see state_tree.py).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__tree_update(void) { return PyModule_Create(&module); }
