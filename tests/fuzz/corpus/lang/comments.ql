; a comment
(top 10 (like "ts-000001")
        (where (and (in spectral "B" "B5" 1e-3 -0 true false)
                    (not (exists flagged)) (!= x -12) (== y 0.5) (<= z 3) (< w 4)))))
