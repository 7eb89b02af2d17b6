/*
 * arcli._cash: the walk of arcli.allocation.apply_cash, compiled, for groups without
 * manual allocations (every group of a first load, most groups of later imports).
 *
 * Why: in a first load of 1M documents the pure-Python walk costs ~2.4 CPU-s on two
 * cores that are already saturated by parsing, inserting and building indexes; here it
 * costs a tenth of that. The rules, their order and every note are those of
 * allocation.py, which stays the reference: tests/foundation/test_accelerated_cash.py
 * compares both on generated histories, allocation by allocation, note by note.
 *
 * The walk, as in allocation._walk: the documents sorted by (date, number, id); on each
 * day that day's debits open (in number order), then that day's credits -- and the
 * carried ones when debits opened -- go through the rules reference, exact, oldest.
 * Documents are addressed by their index in the sorted array.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <datetime.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    PyObject *doc;        /* the Doc tuple (borrowed from the caller's sequence) */
    PyObject *number;     /* borrowed */
    PyObject *reference;  /* borrowed; may be Py_None */
    PyObject *date;       /* borrowed */
    long long amount;
    long id;              /* only for ordering; the id object itself is doc[0] */
    Py_ssize_t given;     /* position in the caller's sequence */
    int day;              /* (year << 9) | (month << 5) | day: orders like the date */
    int due;
    int rank;             /* settlement rank of a debit; -1 for a credit */
} Item;

/* ---- open amounts by amount: count and sum of indices (the index when count is 1) -- */
typedef struct {
    long long key;
    Py_ssize_t count;
    Py_ssize_t index_sum;
    int used;
} Slot;

typedef struct {
    Slot *slots;
    Py_ssize_t size;  /* a power of two */
    Py_ssize_t used;
} AmountMap;

static Slot *amount_slot(AmountMap *m, long long key, int create);

static int amount_map_grow(AmountMap *m)
{
    Slot *old = m->slots;
    Py_ssize_t old_size = m->size;
    m->size = old_size ? old_size * 2 : 64;
    m->slots = PyMem_Calloc((size_t)m->size, sizeof(Slot));
    if (m->slots == NULL) {
        m->slots = old;
        m->size = old_size;
        PyErr_NoMemory();
        return -1;
    }
    m->used = 0;
    for (Py_ssize_t i = 0; i < old_size; i++) {
        if (old[i].used && old[i].count) {
            Slot *s = amount_slot(m, old[i].key, 1);
            s->count = old[i].count;
            s->index_sum = old[i].index_sum;
        }
    }
    PyMem_Free(old);
    return 0;
}

/* The slot of ``key``; with ``create``, a new empty one if absent (the map has room). */
static Slot *amount_slot(AmountMap *m, long long key, int create)
{
    unsigned long long h = (unsigned long long)key * 0x9E3779B97F4A7C15ULL;
    Py_ssize_t mask = m->size - 1;
    for (Py_ssize_t i = (Py_ssize_t)(h >> 20) & mask;; i = (i + 1) & mask) {
        Slot *s = &m->slots[i];
        if (!s->used) {
            if (!create)
                return NULL;
            s->used = 1;
            s->key = key;
            m->used++;
            return s;
        }
        if (s->key == key)
            return s;
    }
}

static int amount_add(AmountMap *m, long long key, Py_ssize_t index)
{
    if ((m->used + 1) * 3 >= m->size * 2 && amount_map_grow(m) < 0)
        return -1;
    Slot *s = amount_slot(m, key, 1);
    s->count++;
    s->index_sum += index;
    return 0;
}

static void amount_remove(AmountMap *m, long long key, Py_ssize_t index)
{
    Slot *s = amount_slot(m, key, 0);
    s->count--;
    s->index_sum -= index;
}

/* ---- the walk's state ------------------------------------------------------------- */
typedef struct {
    Py_ssize_t index;
    long long remaining;
    int untouched;
} Carried;

typedef struct {
    Item *items;
    Py_ssize_t n;
    long long *available;    /* open amount left per debit index */
    char *is_open;           /* whether the debit index is in ``available`` */
    long long *applied;      /* per index, for the final state */
    PyObject **last_day;     /* per index, borrowed date of its latest allocation */
    Py_ssize_t *heap;        /* open debit indices, oldest due first */
    Py_ssize_t heap_len;
    AmountMap by_amount;
    PyObject *by_number;     /* number -> index of the first debit with it */
    Carried *carried;
    Py_ssize_t carried_len;
    Carried *spare;          /* the next carried list while retrying */
    PyObject *allocations;   /* list of Allocation */
    PyTypeObject *allocation_type;
    PyObject *fmt;
} Walk;

static PyObject *RULE_REFERENCE, *RULE_EXACT, *RULE_OLDEST, *EMPTY, *SEPARATOR,
    *OLDEST_DUE_FIRST;

static int date_key(PyObject *value, int *out)
{
    if (!PyDate_Check(value)) {
        PyErr_SetString(PyExc_TypeError, "document dates must be dates");
        return -1;
    }
    *out = (PyDateTime_GET_YEAR(value) << 9) | (PyDateTime_GET_MONTH(value) << 5)
        | PyDateTime_GET_DAY(value);
    return 0;
}

/* Python's ordering of numbers (code points); PyUnicode_Compare cannot fail on str. */
static int compare_numbers(PyObject *a, PyObject *b)
{
    return a == b ? 0 : PyUnicode_Compare(a, b);
}

static int walk_order(const void *pa, const void *pb)
{
    const Item *a = pa, *b = pb;
    if (a->day != b->day)
        return a->day < b->day ? -1 : 1;
    int c = compare_numbers(a->number, b->number);
    if (c)
        return c;
    return (a->id > b->id) - (a->id < b->id);
}

/* The heap's order, as allocation._Ledger.heap: (rank, due, date, number, id). */
static int older(const Item *a, const Item *b)
{
    if (a->rank != b->rank)
        return a->rank < b->rank;
    if (a->due != b->due)
        return a->due < b->due;
    if (a->day != b->day)
        return a->day < b->day;
    int c = compare_numbers(a->number, b->number);
    if (c)
        return c < 0;
    return a->id < b->id;
}

static void heap_push(Walk *w, Py_ssize_t index)
{
    Py_ssize_t i = w->heap_len++;
    while (i > 0) {
        Py_ssize_t parent = (i - 1) / 2;
        if (!older(&w->items[index], &w->items[w->heap[parent]]))
            break;
        w->heap[i] = w->heap[parent];
        i = parent;
    }
    w->heap[i] = index;
}

static void heap_pop(Walk *w)
{
    Py_ssize_t last = w->heap[--w->heap_len], i = 0, n = w->heap_len;
    for (;;) {
        Py_ssize_t child = 2 * i + 1;
        if (child >= n)
            break;
        if (child + 1 < n && older(&w->items[w->heap[child + 1]], &w->items[w->heap[child]]))
            child++;
        if (!older(&w->items[w->heap[child]], &w->items[last]))
            break;
        w->heap[i] = w->heap[child];
        i = child;
    }
    if (n)
        w->heap[i] = last;
}

static Py_ssize_t oldest_open(Walk *w)
{
    while (w->heap_len && !w->is_open[w->heap[0]])
        heap_pop(w);
    return w->heap_len ? w->heap[0] : -1;
}

static int open_debit(Walk *w, Py_ssize_t index)
{
    Item *it = &w->items[index];
    PyObject *key = PyLong_FromSsize_t(index);
    if (key == NULL)
        return -1;
    PyObject *first = PyDict_SetDefault(w->by_number, it->number, key);
    Py_DECREF(key);
    if (first == NULL)
        return -1;
    if (it->amount <= 0)
        return 0;
    w->available[index] = it->amount;
    w->is_open[index] = 1;
    if (amount_add(&w->by_amount, it->amount, index) < 0)
        return -1;
    heap_push(w, index);
    return 0;
}

static int take(Walk *w, Py_ssize_t debit, long long amount)
{
    long long left = w->available[debit];
    amount_remove(&w->by_amount, left, debit);
    left -= amount;
    if (left) {
        w->available[debit] = left;
        return amount_add(&w->by_amount, left, debit);
    }
    w->is_open[debit] = 0;
    return 0;
}

/* One allocation: taken from the debit, recorded (``note`` is a new reference, stolen). */
static int apply(Walk *w, Py_ssize_t credit, Py_ssize_t debit, long long amount,
                 PyObject *day, PyObject *rule, PyObject *note)
{
    if (note == NULL || take(w, debit, amount) < 0) {
        Py_XDECREF(note);
        return -1;
    }
    PyObject *row = w->allocation_type->tp_alloc(w->allocation_type, 6);
    PyObject *value = PyLong_FromLongLong(amount);
    if (row == NULL || value == NULL) {
        Py_XDECREF(row);
        Py_XDECREF(value);
        Py_DECREF(note);
        return -1;
    }
    PyObject *credit_id = PyTuple_GET_ITEM(w->items[credit].doc, 0);
    PyObject *debit_id = PyTuple_GET_ITEM(w->items[debit].doc, 0);
    Py_INCREF(credit_id);
    Py_INCREF(debit_id);
    Py_INCREF(day);
    Py_INCREF(rule);
    PyTuple_SET_ITEM(row, 0, credit_id);
    PyTuple_SET_ITEM(row, 1, debit_id);
    PyTuple_SET_ITEM(row, 2, value);
    PyTuple_SET_ITEM(row, 3, day);
    PyTuple_SET_ITEM(row, 4, rule);
    PyTuple_SET_ITEM(row, 5, note);
    w->applied[credit] += amount;
    w->applied[debit] += amount;
    w->last_day[credit] = w->last_day[debit] = day;
    int failed = PyList_Append(w->allocations, row);
    Py_DECREF(row);
    return failed;
}

/* fmt(amount) as text, as an f-string shows it. */
static PyObject *formatted(Walk *w, long long amount)
{
    PyObject *value = PyLong_FromLongLong(amount);
    if (value == NULL)
        return NULL;
    PyObject *shown = PyObject_CallOneArg(w->fmt, value);
    Py_DECREF(value);
    if (shown == NULL)
        return NULL;
    PyObject *text = PyObject_Format(shown, EMPTY);
    Py_DECREF(shown);
    return text;
}

/* "; ".join([*why, last]); ``last`` is a new reference, stolen. */
static PyObject *joined(PyObject *why, PyObject *last)
{
    if (last == NULL)
        return NULL;
    if (PyList_Append(why, last) < 0) {
        Py_DECREF(last);
        return NULL;
    }
    Py_DECREF(last);
    PyObject *note = PyUnicode_Join(SEPARATOR, why);
    PyList_SetSlice(why, PyList_GET_SIZE(why) - 1, PyList_GET_SIZE(why), NULL);
    return note;
}

static int add_reason(PyObject *why, PyObject *reason)
{
    if (reason == NULL)
        return -1;
    int failed = PyList_Append(why, reason);
    Py_DECREF(reason);
    return failed;
}

/* The referenced debit's index, -1 for none, -2 on error; sets *ref to the stripped
 * reference (a new reference, or NULL when the credit has none). */
static Py_ssize_t referenced(Walk *w, const Item *credit, PyObject **ref)
{
    *ref = NULL;
    if (credit->reference == Py_None || PyObject_Not(credit->reference))
        return -1;
    *ref = PyObject_CallMethod(credit->reference, "strip", NULL);
    if (*ref == NULL)
        return -2;
    if (PyUnicode_GET_LENGTH(*ref) == 0) {
        Py_CLEAR(*ref);
        return -1;
    }
    PyObject *found = PyDict_GetItemWithError(w->by_number, *ref);
    if (found == NULL)
        return PyErr_Occurred() ? -2 : -1;
    return PyLong_AsSsize_t(found);
}

/* Rule 1: the reference. Returns what is left of ``remaining``, -1 on error. */
static long long by_reference(Walk *w, Py_ssize_t credit, long long remaining, int *untouched,
                              PyObject *day, PyObject *why)
{
    PyObject *ref;
    Py_ssize_t target = referenced(w, &w->items[credit], &ref);
    if (target == -2)
        return -1;
    if (ref == NULL)
        return remaining;
    long long left = remaining;
    int failed;
    if (target < 0) {
        failed = add_reason(why, PyUnicode_FromFormat(
            "reference %R names no open item of this customer and currency", ref));
    } else if (!w->is_open[target]) {
        failed = add_reason(why, PyUnicode_FromFormat("referenced %U is already settled",
                                                      w->items[target].number));
    } else {
        long long amount = remaining < w->available[target] ? remaining : w->available[target];
        failed = apply(w, credit, target, amount, day, RULE_REFERENCE,
                       PyUnicode_FromFormat("reference %R", ref));
        left -= amount;
        *untouched = 0;
        if (!failed && left) {
            PyObject *shown = formatted(w, left);
            failed = shown == NULL || add_reason(why, PyUnicode_FromFormat(
                "%U left after the referenced %U", shown, w->items[target].number));
            Py_XDECREF(shown);
        }
    }
    Py_DECREF(ref);
    return failed ? -1 : left;
}

/* Rule 2: the only open debit equal to the whole credit. 1 applied, 0 not, -1 error. */
static int by_exact_amount(Walk *w, Py_ssize_t credit, long long remaining, PyObject *day,
                           PyObject *why)
{
    Slot *s = w->by_amount.size ? amount_slot(&w->by_amount, remaining, 0) : NULL;
    Py_ssize_t matches = s ? s->count : 0;
    PyObject *shown = formatted(w, remaining);
    if (shown == NULL)
        return -1;
    int result;
    if (matches == 1) {
        result = apply(w, credit, s->index_sum, remaining, day, RULE_EXACT,
                       joined(why, PyUnicode_FromFormat("only open item equal to %U", shown)));
        result = result < 0 ? -1 : 1;
    } else if (matches) {
        result = add_reason(why, PyUnicode_FromFormat("%zd open items equal %U", matches,
                                                      shown));
    } else {
        result = add_reason(why, PyUnicode_FromFormat("no open item equals %U", shown));
    }
    Py_DECREF(shown);
    return result;
}

/* Rules 1-3 for one credit; returns what is still left, -1 on error. */
static long long settle(Walk *w, Py_ssize_t credit, long long remaining, int untouched,
                        PyObject *day)
{
    PyObject *why = PyList_New(0);
    if (why == NULL)
        return -1;
    remaining = by_reference(w, credit, remaining, &untouched, day, why);
    if (remaining > 0 && untouched) {
        int exact = by_exact_amount(w, credit, remaining, day, why);
        if (exact)
            remaining = exact < 0 ? -1 : 0;
    }
    PyObject *note = NULL;
    while (remaining > 0) {
        Py_ssize_t debit = oldest_open(w);
        if (debit < 0)
            break;
        if (note == NULL) {
            Py_INCREF(OLDEST_DUE_FIRST);  /* joined() steals it */
            if ((note = joined(why, OLDEST_DUE_FIRST)) == NULL) {
                remaining = -1;
                break;
            }
        }
        long long amount = remaining < w->available[debit] ? remaining : w->available[debit];
        Py_INCREF(note);
        if (apply(w, credit, debit, amount, day, RULE_OLDEST, note) < 0) {
            remaining = -1;
            break;
        }
        remaining -= amount;
    }
    Py_XDECREF(note);
    Py_DECREF(why);
    return remaining;
}

/* allocation._Ledger.settle_day: the day's fresh credits [first, end), after the carried
 * ones when ``retry``; what is left of either is carried on. */
static int settle_day(Walk *w, Py_ssize_t first, Py_ssize_t end, int retry, PyObject *day)
{
    Carried *next = retry ? w->spare : w->carried;
    Py_ssize_t kept = retry ? 0 : w->carried_len;
    Py_ssize_t queued = retry ? w->carried_len : 0;
    for (Py_ssize_t q = 0; q < queued + (end - first); q++) {
        Carried c;
        if (q < queued) {
            c = w->carried[q];
        } else {
            c.index = first + (q - queued);
            if (w->items[c.index].rank >= 0)
                continue;  /* a debit of the day */
            c.remaining = w->items[c.index].amount;
            c.untouched = 1;
        }
        if (c.remaining <= 0)
            continue;
        long long left = settle(w, c.index, c.remaining, c.untouched, day);
        if (left < 0)
            return -1;
        if (left)
            next[kept++] = (Carried){c.index, left, c.untouched && left == c.remaining};
    }
    if (retry) {
        w->spare = w->carried;
        w->carried = next;
    }
    w->carried_len = kept;
    return 0;
}

static int walk_days(Walk *w)
{
    for (Py_ssize_t start = 0; start < w->n;) {
        Py_ssize_t end = start, opened = 0, credits = 0;
        while (end < w->n && w->items[end].day == w->items[start].day)
            end++;
        for (Py_ssize_t i = start; i < end; i++) {
            if (w->items[i].rank < 0) {
                credits++;
            } else {
                opened++;
                if (open_debit(w, i) < 0)
                    return -1;
            }
        }
        if (credits || (opened && w->carried_len)) {
            if (settle_day(w, start, end, opened > 0, w->items[start].date) < 0)
                return -1;
        }
        start = end;
    }
    return 0;
}

/* allocation._final_state: open amounts and closing dates keyed by document id, in the
 * caller's order of the documents. */
static PyObject *final_state(Walk *w)
{
    PyObject *open_minor = PyDict_New(), *closed_on = PyDict_New();
    Py_ssize_t *sorted_at = PyMem_Calloc((size_t)(w->n ? w->n : 1), sizeof(Py_ssize_t));
    if (open_minor == NULL || closed_on == NULL || sorted_at == NULL) {
        if (sorted_at == NULL)
            PyErr_NoMemory();
        goto error;
    }
    for (Py_ssize_t i = 0; i < w->n; i++)
        sorted_at[w->items[i].given] = i;
    for (Py_ssize_t k = 0; k < w->n; k++) {
        Py_ssize_t i = sorted_at[k];
        PyObject *id = PyTuple_GET_ITEM(w->items[i].doc, 0);
        long long left = w->items[i].amount - w->applied[i];
        PyObject *value = PyLong_FromLongLong(left);
        if (value == NULL || PyDict_SetItem(open_minor, id, value) < 0) {
            Py_XDECREF(value);
            goto error;
        }
        Py_DECREF(value);
        PyObject *closed = left ? Py_None
            : (w->last_day[i] ? w->last_day[i] : w->items[i].date);
        if (PyDict_SetItem(closed_on, id, closed) < 0)
            goto error;
    }
    PyMem_Free(sorted_at);
    return Py_BuildValue("(ONN)", w->allocations, open_minor, closed_on);
error:
    PyMem_Free(sorted_at);
    Py_XDECREF(open_minor);
    Py_XDECREF(closed_on);
    return NULL;
}

/* Read the documents into items; the Doc tuples stay owned by ``docs``. */
static int read_items(Walk *w, PyObject *docs, PyObject *ranks)
{
    for (Py_ssize_t i = 0; i < w->n; i++) {
        PyObject *doc = PySequence_Fast_GET_ITEM(docs, i);
        if (!PyTuple_Check(doc) || PyTuple_GET_SIZE(doc) < 7) {
            PyErr_SetString(PyExc_TypeError, "documents must be Doc tuples");
            return -1;
        }
        Item *it = &w->items[i];
        it->doc = doc;
        it->given = i;
        it->id = PyLong_AsLong(PyTuple_GET_ITEM(doc, 0));
        it->number = PyTuple_GET_ITEM(doc, 2);
        it->date = PyTuple_GET_ITEM(doc, 3);
        it->amount = PyLong_AsLongLong(PyTuple_GET_ITEM(doc, 5));
        it->reference = PyTuple_GET_ITEM(doc, 6);
        if (PyErr_Occurred() || !PyUnicode_Check(it->number)
            || (it->reference != Py_None && !PyUnicode_Check(it->reference))) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "numbers and references must be str");
            return -1;
        }
        if (date_key(it->date, &it->day) < 0
            || date_key(PyTuple_GET_ITEM(doc, 4), &it->due) < 0)
            return -1;
        PyObject *rank = PyDict_GetItemWithError(ranks, PyTuple_GET_ITEM(doc, 1));
        if (rank == NULL && PyErr_Occurred())
            return -1;
        it->rank = rank ? (int)PyLong_AsLong(rank) : -1;
    }
    qsort(w->items, (size_t)w->n, sizeof(Item), walk_order);
    return PyErr_Occurred() ? -1 : 0;
}

static void walk_free(Walk *w)
{
    PyMem_Free(w->items);
    PyMem_Free(w->available);
    PyMem_Free(w->is_open);
    PyMem_Free(w->applied);
    PyMem_Free(w->last_day);
    PyMem_Free(w->heap);
    PyMem_Free(w->carried);
    PyMem_Free(w->spare);
    PyMem_Free(w->by_amount.slots);
    Py_XDECREF(w->by_number);
    Py_XDECREF(w->allocations);
}

static PyObject *cash_walk(PyObject *module, PyObject *args)
{
    PyObject *sequence, *ranks, *fmt, *allocation_type;
    if (!PyArg_ParseTuple(args, "OO!OO!:walk", &sequence, &PyDict_Type, &ranks, &fmt,
                          &PyType_Type, &allocation_type))
        return NULL;
    if (!PyType_IsSubtype((PyTypeObject *)allocation_type, &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "the allocation type must be a named tuple");
        return NULL;
    }
    PyObject *docs = PySequence_Fast(sequence, "documents must be a sequence");
    if (docs == NULL)
        return NULL;
    Walk w = {0};
    w.n = PySequence_Fast_GET_SIZE(docs);
    size_t n = (size_t)(w.n ? w.n : 1);
    w.items = PyMem_Calloc(n, sizeof(Item));
    w.available = PyMem_Calloc(n, sizeof(long long));
    w.is_open = PyMem_Calloc(n, 1);
    w.applied = PyMem_Calloc(n, sizeof(long long));
    w.last_day = PyMem_Calloc(n, sizeof(PyObject *));
    w.heap = PyMem_Calloc(n, sizeof(Py_ssize_t));
    w.carried = PyMem_Calloc(n, sizeof(Carried));
    w.spare = PyMem_Calloc(n, sizeof(Carried));
    w.by_number = PyDict_New();
    w.allocations = PyList_New(0);
    w.allocation_type = (PyTypeObject *)allocation_type;
    w.fmt = fmt;
    PyObject *result = NULL;
    if (!w.items || !w.available || !w.is_open || !w.applied || !w.last_day || !w.heap
        || !w.carried || !w.spare) {
        PyErr_NoMemory();
    } else if (w.by_number && w.allocations && read_items(&w, docs, ranks) == 0
               && walk_days(&w) == 0) {
        result = final_state(&w);
    }
    walk_free(&w);
    Py_DECREF(docs);
    return result;
}

static PyMethodDef cash_methods[] = {
    {"walk", cash_walk, METH_VARARGS,
     "walk(docs, rank_by_debit_type, fmt, allocation_type) -> (allocations, open_minor, "
     "closed_on): allocation.apply_cash for a group without manual allocations."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef cash_module = {
    PyModuleDef_HEAD_INIT, "arcli._cash",
    "Compiled cash application walk (see arcli.allocation).", -1, cash_methods,
};

PyMODINIT_FUNC PyInit__cash(void)
{
    PyDateTime_IMPORT;
    if (PyDateTimeAPI == NULL)
        return NULL;
    RULE_REFERENCE = PyUnicode_InternFromString("reference");
    RULE_EXACT = PyUnicode_InternFromString("exact");
    RULE_OLDEST = PyUnicode_InternFromString("oldest");
    EMPTY = PyUnicode_InternFromString("");
    SEPARATOR = PyUnicode_InternFromString("; ");
    OLDEST_DUE_FIRST = PyUnicode_InternFromString("oldest due first");
    if (!RULE_REFERENCE || !RULE_EXACT || !RULE_OLDEST || !EMPTY || !SEPARATOR
        || !OLDEST_DUE_FIRST)
        return NULL;
    return PyModule_Create(&cash_module);
}
