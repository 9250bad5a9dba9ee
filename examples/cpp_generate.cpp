/*
 * cpp_generate.cpp -- generate.c in C++ with the header-only wrapper
 * examples/textdiff.hpp: handles free themselves, errors are exceptions.
 * Also shows the incremental API: step through a second generation and print
 * how many positions are still masked after each step.
 *
 *   c++ -std=c++11 -I. cpp_generate.cpp $(pkg-config --cflags --libs libtextdiff) -o cpp_generate
 *   ./cpp_generate model.gguf "It is a truth"
 */
#include <cstdio>
#include <iostream>

#include "textdiff.hpp"

int main(int argc, char **argv)
{
    if (argc < 2) {
        std::cerr << "usage: " << argv[0] << " MODEL.gguf [PROMPT]\n";
        return 2;
    }
    try {
        textdiff::Model model(argv[1]);
        textdiff::Tokenizer tok(model);
        textdiff::Sampler sampler(model);
        std::string prompt = argc > 2 ? argv[2] : "It is a truth";
        sampler.set(TDIFF_SAMPLER_GEN_LENGTH, 24);
        sampler.set(TDIFF_SAMPLER_STEPS, 12);

        std::vector<int32_t> ids = tok.tokenize(prompt);
        std::cout << prompt << tok.detokenize(sampler.generate(ids)) << "\n";

        /* The same generation one step at a time. */
        const int32_t mask = model.special(TDIFF_SPECIAL_MASK);
        sampler.begin(ids);
        for (bool done = false; !done;) {
            done = sampler.step();
            size_t masked = 0;
            for (int32_t t : sampler.canvas())
                masked += t == mask;
            std::cout << "masked: " << masked << "\n";
        }
        std::cout << prompt << tok.detokenize(sampler.result()) << "\n";
    } catch (const textdiff::Error &e) {
        std::cerr << "textdiff: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
