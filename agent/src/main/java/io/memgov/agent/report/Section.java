package io.memgov.agent.report;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** One titled table of the report (with notes under it): rendered as text or as HTML. */
final class Section {
    final String title;
    final List<String> header;
    final List<List<String>> rows = new ArrayList<>();
    final List<String> notes = new ArrayList<>();

    Section(String title, String... header) {
        this.title = title;
        this.header = Arrays.asList(header);
    }

    Section row(String... cells) {
        rows.add(Arrays.asList(cells));
        return this;
    }

    Section note(String note) {
        notes.add(note);
        return this;
    }
}
