// A one-shot, re-armable timer on its own thread: when the time is up it asks the interpreter to
// flush batched stream text (kite::request_stream_flush, a CPython pending call), so text printed
// just before a long computation is not held back until the cell ends.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace kite {

class flush_timer {
public:
    flush_timer();
    ~flush_timer();
    flush_timer(const flush_timer&) = delete;
    flush_timer& operator=(const flush_timer&) = delete;

    // Any thread: fire `seconds` from now (an earlier pending deadline is kept).
    void arm(double seconds);
    // Ends the thread (it takes the GIL when it fires): call before the interpreter finalizes.
    void stop();

private:
    void run();
    std::mutex m_mutex;
    std::condition_variable m_changed;
    bool m_armed = false;
    bool m_stop = false;
    std::chrono::steady_clock::time_point m_deadline;
    std::thread m_thread;  // last: started once the members above exist
};

}  // namespace kite
