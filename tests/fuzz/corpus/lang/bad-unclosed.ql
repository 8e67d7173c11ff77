(top 5
 (like "x")
    
