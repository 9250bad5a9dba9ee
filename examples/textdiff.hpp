/*
 * textdiff.hpp -- a header-only C++11 RAII wrapper over the libtextdiff C API:
 * Model, Tokenizer and Sampler own their handles (moveable, not copyable) and
 * turn error statuses into textdiff::Error exceptions carrying the library's
 * message. Copy it into your project; it needs only libtextdiff.h.
 *
 *   textdiff::Model model("model.gguf");
 *   textdiff::Tokenizer tok(model);
 *   textdiff::Sampler sampler(model);
 *   sampler.set(TDIFF_SAMPLER_GEN_LENGTH, 32);
 *   std::string text = tok.detokenize(sampler.generate(tok.tokenize("It is a truth")));
 */
#ifndef TEXTDIFF_HPP
#define TEXTDIFF_HPP

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <libtextdiff.h>

namespace textdiff {

/* A failed library call: status() is the tdiff_status, what() the message. */
class Error : public std::runtime_error {
  public:
    Error(tdiff_status st, const std::string &msg)
        : std::runtime_error(std::string(tdiff_status_string(st)) + ": " + msg), st_(st)
    {
    }
    tdiff_status status() const { return st_; }

  private:
    tdiff_status st_;
};

/* Owns a handle of type T, freed with F; moves, never copies. */
template <typename T, void (*F)(T *)> class Handle {
  public:
    Handle() = default;
    explicit Handle(T *p) : p_(p) {}
    Handle(Handle &&o) noexcept : p_(o.p_) { o.p_ = nullptr; }
    Handle &operator=(Handle &&o) noexcept
    {
        std::swap(p_, o.p_);
        return *this;
    }
    Handle(const Handle &) = delete;
    Handle &operator=(const Handle &) = delete;
    ~Handle() { F(p_); }
    T *get() const { return p_; }

  private:
    T *p_ = nullptr;
};

class Model {
  public:
    explicit Model(const std::string &path)
    {
        char err[512] = "";
        tdiff_model *m = nullptr;
        tdiff_status st = tdiff_model_load_file(path.c_str(), nullptr, &m, err, sizeof err);
        if (st != TDIFF_OK)
            throw Error(st, path + ": " + err);
        h_ = Handle<tdiff_model, tdiff_model_free>(m);
    }
    const tdiff_model *get() const { return h_.get(); }
    int32_t special(tdiff_special_token which) const
    {
        int32_t id = -1;
        tdiff_status st = tdiff_model_special_id(get(), which, &id);
        if (st != TDIFF_OK)
            throw Error(st, "the model has no such special token");
        return id;
    }

  private:
    Handle<tdiff_model, tdiff_model_free> h_;
};

class Tokenizer {
  public:
    explicit Tokenizer(const Model &model)
    {
        char err[512] = "";
        tdiff_tokenizer *t = nullptr;
        tdiff_status st = tdiff_tokenizer_create(model.get(), nullptr, &t, err, sizeof err);
        if (st != TDIFF_OK)
            throw Error(st, err);
        h_ = Handle<tdiff_tokenizer, tdiff_tokenizer_free>(t);
    }
    std::vector<int32_t> tokenize(const std::string &text, uint32_t flags = TDIFF_TOKENIZE_ADD_SPECIAL) const
    {
        std::vector<int32_t> ids(text.size() + 8); /* grown below if the library asks for more */
        size_t n = 0;
        tdiff_status st =
            tdiff_tokenizer_tokenize(h_.get(), text.data(), text.size(), flags, ids.data(), ids.size(), &n);
        if (st == TDIFF_E_BUFFER_TOO_SMALL) {
            ids.resize(n);
            st = tdiff_tokenizer_tokenize(h_.get(), text.data(), text.size(), flags, ids.data(), ids.size(), &n);
        }
        if (st != TDIFF_OK)
            throw Error(st, "tokenize failed");
        ids.resize(n);
        return ids;
    }
    std::string detokenize(const std::vector<int32_t> &ids) const
    {
        size_t len = 0;
        tdiff_status st = tdiff_tokenizer_detokenize(h_.get(), ids.data(), ids.size(), 0, nullptr, 0, &len);
        if (st != TDIFF_OK && st != TDIFF_E_BUFFER_TOO_SMALL)
            throw Error(st, "detokenize failed");
        std::string text(len, '\0');
        st = tdiff_tokenizer_detokenize(h_.get(), ids.data(), ids.size(), 0, &text[0], text.size() + 1, &len);
        if (st != TDIFF_OK)
            throw Error(st, "detokenize failed");
        text.resize(len);
        return text;
    }

  private:
    Handle<tdiff_tokenizer, tdiff_tokenizer_free> h_;
};

class Sampler {
  public:
    /* The model must outlive the sampler. */
    explicit Sampler(const Model &model)
    {
        tdiff_sampler *s = nullptr;
        char why[512];
        tdiff_status st = tdiff_sampler_create(model.get(), nullptr, &s, why, sizeof why);
        if (st != TDIFF_OK)
            throw Error(st, std::string("cannot create the sampler: ") + why);
        h_ = Handle<tdiff_sampler, tdiff_sampler_free>(s);
    }
    tdiff_sampler *get() const { return h_.get(); }

    void set(tdiff_sampler_param p, int64_t v) { check(tdiff_sampler_set_int(get(), p, v)); }
    void set(tdiff_sampler_param p, int v) { set(p, (int64_t)v); }
    void set(tdiff_sampler_param p, double v) { check(tdiff_sampler_set_float(get(), p, v)); }

    std::vector<int32_t> generate(const std::vector<int32_t> &prompt)
    {
        int64_t gen = 0;
        check(tdiff_sampler_get_int(get(), TDIFF_SAMPLER_GEN_LENGTH, &gen));
        std::vector<int32_t> out((size_t)gen);
        size_t n = 0;
        check(tdiff_sampler_generate(get(), prompt.data(), prompt.size(), out.data(), out.size(), &n));
        out.resize(n);
        return out;
    }
    std::vector<int32_t> infill(const std::vector<int32_t> &canvas)
    {
        std::vector<int32_t> out(canvas.size());
        size_t n = 0;
        check(tdiff_sampler_infill(get(), canvas.data(), canvas.size(), out.data(), out.size(), &n));
        out.resize(n);
        return out;
    }

    /* Incremental use: begin, step()/step_for() until true, result(). */
    void begin(const std::vector<int32_t> &prompt) { check(tdiff_sampler_begin(get(), prompt.data(), prompt.size())); }
    bool step()
    {
        int done = 0;
        check(tdiff_sampler_step(get(), &done));
        return done != 0;
    }
    bool step_for(uint64_t budget_us)
    {
        int done = 0;
        check(tdiff_sampler_step_for(get(), budget_us, nullptr, &done));
        return done != 0;
    }
    std::vector<int32_t> canvas() const
    {
        size_t n = 0;
        check(tdiff_sampler_canvas(get(), nullptr, nullptr, nullptr, 0, &n));
        std::vector<int32_t> ids(n);
        check(tdiff_sampler_canvas(get(), ids.data(), nullptr, nullptr, ids.size(), &n));
        return ids;
    }
    std::vector<int32_t> result()
    {
        size_t n = 0;
        tdiff_status st = tdiff_sampler_result(get(), nullptr, 0, &n); /* asks for the size */
        if (st != TDIFF_E_BUFFER_TOO_SMALL && st != TDIFF_OK)
            check(st);
        std::vector<int32_t> out(n);
        check(tdiff_sampler_result(get(), out.data(), out.size(), &n));
        out.resize(n);
        return out;
    }
    void cancel() { check(tdiff_sampler_cancel(get())); }

  private:
    void check(tdiff_status st) const
    {
        if (st != TDIFF_OK)
            throw Error(st, tdiff_sampler_last_error(get()));
    }
    Handle<tdiff_sampler, tdiff_sampler_free> h_;
};

} /* namespace textdiff */

#endif
